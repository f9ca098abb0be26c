export { LocalFileSettings, LocalFileSpec, fileOf, localFile, normalizedPath } from "./local-file.ts";
