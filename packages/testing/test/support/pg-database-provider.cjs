// A minimal Pulumi dynamic provider for a PostgreSQL database, for the smoke
// test. Pulumi serializes these functions and runs them in its provider host
// process, so they reach for their dependencies with require() at call time.
"use strict";

async function withClient(connectionString, fn) {
  const { Client } = require("pg");
  const client = new Client({ connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const quote = (identifier) => `"${identifier.replaceAll('"', '""')}"`;

exports.databaseProvider = {
  async create(inputs) {
    await withClient(inputs.connectionString, async (client) => {
      await client.query(`create database ${quote(inputs.name)} connection limit ${Number(inputs.connectionLimit)}`);
    });
    return { id: inputs.name, outs: inputs };
  },
  async diff(_id, olds, news) {
    const replaces = olds.name === news.name ? [] : ["name"];
    return { changes: olds.name !== news.name || olds.connectionLimit !== news.connectionLimit, replaces };
  },
  async update(_id, _olds, news) {
    await withClient(news.connectionString, async (client) => {
      await client.query(`alter database ${quote(news.name)} connection limit ${Number(news.connectionLimit)}`);
    });
    return { outs: news };
  },
  async delete(id, props) {
    await withClient(props.connectionString, async (client) => {
      await client.query(`drop database if exists ${quote(id)}`);
    });
  },
};
