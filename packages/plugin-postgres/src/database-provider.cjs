// The Pulumi dynamic provider of `postgres.database`: an owner role with a
// generated password, a database it owns, a connection limit and extensions.
//
// Pulumi serializes `databaseProvider` (these functions and the helpers they
// use) into the stack's state and runs it in its own provider host process.
// So this file is plain CommonJS that needs no build step, everything the
// functions use is defined here, and packages are require()d at call time:
// the host finds them through NODE_PATH, which the engine points at this
// package's node_modules.
//
// Every step is idempotent and safe to repeat after a crash between steps:
// the role and the database carry a marker comment, so a retry recognises
// what an interrupted attempt made and carries on, while a role or database
// that someone else made is never taken over. SQL never concatenates input:
// values are bound as parameters, and where PostgreSQL takes no parameters
// (DDL) names go through pg's escapeIdentifier and text through escapeLiteral.
"use strict";

/** Extensions every database has; never dropped nor reported. */
const builtInExtensions = ["plpgsql"];

/**
 * Plinth's helpers for dynamic providers (PostgreSQL connections, SCRAM
 * verifiers, passwords), required at call time like `pg`: the provider host
 * finds @plinth/core, a dependency of this package, through NODE_PATH.
 */
const helpers = () => require("@plinth/core/provider-helpers");

/** node-postgres settings for `connection` (host, port, user, database, sslmode, caCert) with `password`. */
function clientConfig(connection, password, database) {
  return helpers().postgresClientConfig(connection, password, database, "plinth-postgres");
}

function withAdmin(props, use, database) {
  return helpers().withPostgresClient(clientConfig(props.connection, props.adminPassword, database), use);
}

/** The comment that marks a role or database as made by Plinth for this resource. */
function markerOf(props) {
  return `managed by Plinth: postgres.database ${props.instance}/${props.database}`;
}

async function findRole(client, role) {
  const { rows } = await client.query(
    "select rolcanlogin as login, shobj_description(oid, 'pg_authid') as comment from pg_roles where rolname = $1",
    [role],
  );
  return rows[0];
}

async function findDatabase(client, database) {
  const { rows } = await client.query(
    `select pg_get_userbyid(datdba) as owner, datconnlimit as "connectionLimit",
            shobj_description(oid, 'pg_database') as comment
       from pg_database where datname = $1`,
    [database],
  );
  return rows[0];
}

/**
 * The database, when it exists and is ours: marked, or owned by the owner
 * role (a create interrupted before it marked the database). Throws when
 * it belongs to someone else.
 */
async function assertDatabaseIsOurs(client, props) {
  const existing = await findDatabase(client, props.database);
  if (existing && existing.comment !== markerOf(props) && existing.owner !== props.owner) {
    throw new Error(
      `database "${props.database}" already exists on instance "${props.instance}" and Plinth does not manage it: ` +
        "pick another name, or drop or rename that database",
    );
  }
  return existing;
}

/** The owner role exists, is ours, can log in and has `password`. Creating it and marking it is one transaction. */
async function ensureRole(client, props, password) {
  const { escapeIdentifier, escapeLiteral } = require("pg");
  const role = escapeIdentifier(props.owner);
  const secret = escapeLiteral(helpers().scramSha256Verifier(password));
  const existing = await findRole(client, props.owner);
  if (existing && existing.comment !== markerOf(props)) {
    throw new Error(
      `role "${props.owner}" already exists on instance "${props.instance}" and Plinth did not make it for this database: ` +
        "choose another owner (spec.owner), or drop or rename that role",
    );
  }
  if (existing) {
    await client.query(`alter role ${role} with login password ${secret}`);
    return;
  }
  await client.query("begin");
  try {
    await client.query(`create role ${role} with login password ${secret}`);
    await client.query(`comment on role ${role} is ${escapeLiteral(markerOf(props))}`);
    // An admin that is not a superuser (CREATEROLE and CREATEDB, as managed services give) acts on the
    // database through membership of its owner: handing it over, connecting, installing trusted extensions.
    await client.query(`grant ${role} to current_user`);
    await client.query("commit");
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    throw error;
  }
}

/**
 * The database exists, is ours, belongs to the owner role, has the
 * connection limit, and only its owner (and superusers) may connect.
 * CREATE DATABASE cannot run in a transaction: a database that an
 * interrupted attempt made before marking it is recognised by its owner,
 * a role that carries our marker.
 */
async function ensureDatabase(client, props) {
  const { escapeIdentifier, escapeLiteral } = require("pg");
  const database = escapeIdentifier(props.database);
  const owner = escapeIdentifier(props.owner);
  const limit = Number(props.connectionLimit);
  if (!Number.isInteger(limit)) throw new Error(`connection limit ${props.connectionLimit} is not a whole number`);
  const existing = await assertDatabaseIsOurs(client, props);
  if (!existing) await client.query(`create database ${database} owner ${owner} connection limit ${limit}`);
  await client.query(`alter database ${database} owner to ${owner}`);
  await client.query(`alter database ${database} connection limit ${limit}`);
  await client.query(`revoke connect, temporary on database ${database} from public`);
  await client.query(`comment on database ${database} is ${escapeLiteral(markerOf(props))}`);
}

async function installedExtensions(client) {
  const { rows } = await client.query("select extname from pg_extension order by extname");
  return rows.map((row) => row.extname).filter((name) => !builtInExtensions.includes(name));
}

/** Installs the wanted extensions and drops the others (RESTRICT: PostgreSQL refuses while objects use one). */
async function ensureExtensions(props) {
  const { escapeIdentifier } = require("pg");
  const wanted = props.extensions ?? [];
  await withAdmin(
    props,
    async (client) => {
      const installed = await installedExtensions(client);
      for (const name of wanted.filter((extension) => !installed.includes(extension))) {
        await client.query(`create extension if not exists ${escapeIdentifier(name)}`);
      }
      for (const name of installed.filter((extension) => !wanted.includes(extension))) {
        await client.query(`drop extension if exists ${escapeIdentifier(name)} restrict`);
      }
    },
    props.database,
  );
}

/** Makes everything as `props` says, with `password`; returns the outputs (never `held`). Safe to repeat. */
async function converge(inputs, password) {
  const props = { ...inputs };
  delete props.held;
  await withAdmin(props, async (client) => {
    // Checked first, so a clash makes nothing at all.
    await assertDatabaseIsOurs(client, props);
    await ensureRole(client, props, password);
    await ensureDatabase(client, props);
  });
  await ensureExtensions(props);
  return {
    ...props,
    extensions: [...(props.extensions ?? [])].sort(),
    password,
    passwordRotation: props.rotation,
    ownerCanLogin: true,
  };
}

/** True when the owner can log in to its database with `password`; undefined when that cannot be told (e.g. no free connection). */
async function ownerCanLogin(props) {
  try {
    await helpers().withPostgresClient(
      clientConfig({ ...props.connection, user: props.owner }, props.password, props.database),
      () => Promise.resolve(),
    );
    return true;
  } catch (error) {
    // invalid_password, invalid_authorization_specification: the password or the role's LOGIN is gone.
    if (error && (error.code === "28P01" || error.code === "28000")) return false;
    return undefined;
  }
}

const sameList = (a, b) => JSON.stringify([...(a ?? [])].sort()) === JSON.stringify([...(b ?? [])].sort());

exports.databaseProvider = {
  async create(inputs) {
    return { id: inputs.database, outs: await converge(inputs, helpers().generatePassword()) };
  },

  /**
   * Observes the real database (refresh and drift): its owner, connection
   * limit and extensions, and whether the owner can still log in with the
   * recorded password. A database that is gone reads as gone (empty id).
   */
  async read(id, props) {
    const observed = await withAdmin(props, async (client) => {
      const database = await findDatabase(client, props.database);
      if (!database) return undefined;
      const role = await findRole(client, props.owner);
      return { database, role };
    });
    if (!observed) return { id: "", props: {} };
    const extensions = await withAdmin(props, installedExtensions, props.database);
    const login = observed.role?.login ? await ownerCanLogin(props) : false;
    return {
      id,
      props: {
        ...props,
        owner: observed.database.owner,
        connectionLimit: observed.database.connectionLimit,
        extensions,
        ownerCanLogin: login ?? props.ownerCanLogin,
      },
    };
  },

  async diff(_id, olds, news) {
    const replaces = olds.database === news.database ? [] : ["database"];
    const changes =
      replaces.length > 0 ||
      JSON.stringify(olds.connection) !== JSON.stringify(news.connection) ||
      olds.adminPassword !== news.adminPassword ||
      olds.owner !== news.owner ||
      olds.connectionLimit !== news.connectionLimit ||
      !sameList(olds.extensions, news.extensions) ||
      olds.passwordRotation !== news.rotation ||
      olds.ownerCanLogin !== true;
    return { changes, replaces, deleteBeforeReplace: false };
  },

  /**
   * Converges to `news`; a new password only when `rotation` changed (or none
   * was ever recorded). When the owner cannot log in with the state's
   * password but can with the one Plinth's store holds (adopted from the
   * database a restore replaced), that one is kept: setting it again changes
   * nothing for the clients using it. Otherwise the state's is set back.
   */
  async update(_id, olds, news) {
    const rotate = olds.passwordRotation !== news.rotation || !olds.password;
    const adopt =
      !rotate &&
      olds.ownerCanLogin !== true &&
      typeof news.held === "string" &&
      news.held !== olds.password &&
      (await ownerCanLogin({ ...news, password: news.held })) === true;
    const password = rotate ? helpers().generatePassword() : adopt ? news.held : olds.password;
    return { outs: await converge(news, password) };
  },

  /** Drops the database (closing its sessions) and then its owner role, if they are still there and ours. */
  async delete(_id, props) {
    const { escapeIdentifier } = require("pg");
    await withAdmin(props, async (client) => {
      const database = await findDatabase(client, props.database);
      if (database && (database.comment === markerOf(props) || database.owner === props.owner)) {
        await client.query(`drop database if exists ${escapeIdentifier(props.database)} with (force)`);
      }
      const role = await findRole(client, props.owner);
      if (role && role.comment === markerOf(props)) {
        await client.query(`drop role if exists ${escapeIdentifier(props.owner)}`);
      }
    });
  },
};

exports.clientConfig = clientConfig;
exports.markerOf = markerOf;
