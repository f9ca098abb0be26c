import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The server serves dist/ under /; files in dist/assets/ carry a content hash and are cached for good.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    // A stray source map would double what the server sends to nobody.
    sourcemap: false,
  },
});
