import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The source is written against React's API and types; the build runs it on
// Preact's compatibility layer, which is ~10x smaller and boots faster (the
// queue must render 500 changes within a second; see BENCHMARKS.md).
const preact = {
  "react-dom/client": "preact/compat/client",
  "react-dom": "preact/compat",
  "react/jsx-runtime": "preact/jsx-runtime",
  "react/jsx-dev-runtime": "preact/jsx-dev-runtime",
  react: "preact/compat",
};

// The server serves dist/ under /; files in dist/assets/ carry a content hash and are cached for good.
export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: Object.entries(preact).map(([find, replacement]) => ({ find: new RegExp(`^${find}$`), replacement })),
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    // A stray source map would double what the server sends to nobody.
    sourcemap: false,
  },
});
