// The Pulumi dynamic provider of local.file. Pulumi serializes these
// functions and runs them in its provider host process, so they reach for
// their dependencies with require() at call time, and this file is CommonJS
// (no TypeScript transform between the source and what gets serialized).
"use strict";

function sha256(content) {
  return require("node:crypto").createHash("sha256").update(content).digest("hex");
}

/** Writes the file with its mode (chmod too: the umask may narrow the mode of a new file). */
function write(inputs) {
  const fs = require("node:fs");
  const path = require("node:path");
  const mode = parseInt(inputs.mode, 8);
  fs.mkdirSync(path.dirname(inputs.file), { recursive: true });
  fs.writeFileSync(inputs.file, inputs.content, { mode });
  fs.chmodSync(inputs.file, mode);
  return { file: inputs.file, content: inputs.content, mode: inputs.mode, sha256: sha256(inputs.content) };
}

exports.fileProvider = {
  async create(inputs) {
    return { id: inputs.file, outs: write(inputs) };
  },
  async diff(_id, olds, news) {
    const replaces = olds.file === news.file ? [] : ["file"];
    const changes = replaces.length > 0 || olds.content !== news.content || olds.mode !== news.mode;
    return { changes, replaces, deleteBeforeReplace: true };
  },
  async update(_id, _olds, news) {
    return { outs: write(news) };
  },
  async delete(id) {
    require("node:fs").rmSync(id, { force: true });
  },
  // Refresh (drift detection) reads what is really on disk; no id = the file is gone.
  async read(id, props) {
    const fs = require("node:fs");
    if (!fs.existsSync(id)) return {};
    const content = fs.readFileSync(id, "utf8");
    const mode = (fs.statSync(id).mode & 0o777).toString(8).padStart(4, "0");
    return { id, props: { ...props, file: id, content, mode, sha256: sha256(content) } };
  },
};
