/* The ledger in SQLite; see authority_ledger.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "authority_ledger.h"
#include "errbuf.h"

#define BUSY_TIMEOUT_MS 10000

struct ledger {
    sqlite3 *db;
    char error[256];
};

/* Migration N (1-based) brings the schema from version N-1 to N. Append
 * only; never edit a migration that has shipped. */
static const char *const migrations[] = {
    "CREATE TABLE schema_migrations ("
    "  version INTEGER PRIMARY KEY,"
    "  applied INTEGER NOT NULL);"
    "CREATE TABLE keys ("
    "  key TEXT PRIMARY KEY,"
    "  customer TEXT NOT NULL CHECK (length(customer) BETWEEN 1 AND 128),"
    "  seats INTEGER NOT NULL CHECK (seats BETWEEN 1 AND 1000000),"
    "  kind TEXT NOT NULL CHECK (kind IN ('standard', 'failover')),"
    "  primary_key TEXT REFERENCES keys(key),"
    "  state TEXT NOT NULL CHECK (state IN ('issued', 'activated', 'refunded', 'split',"
    "                                       'replaced')),"
    "  perpetual INTEGER NOT NULL CHECK (perpetual IN (0, 1)),"
    "  rule TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  support_until INTEGER NOT NULL,"
    "  sunset INTEGER,"
    "  origin TEXT REFERENCES keys(key),"
    "  replaced_by TEXT REFERENCES keys(key),"
    "  activated INTEGER,"
    "  installation_id TEXT CHECK (installation_id IS NULL OR length(installation_id) = 32),"
    "  installation_public_key BLOB CHECK (installation_public_key IS NULL OR"
    "                                      length(installation_public_key) = 32),"
    "  CHECK ((kind = 'failover') = (primary_key IS NOT NULL)),"
    "  CHECK ((activated IS NULL) = (installation_id IS NULL)));"
    "CREATE INDEX keys_customer ON keys(customer);"
    "CREATE TABLE bindings ("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT NOT NULL REFERENCES keys(key),"
    "  binding TEXT NOT NULL,"
    "  active INTEGER NOT NULL CHECK (active IN (0, 1)),"
    "  rebind INTEGER NOT NULL CHECK (rebind IN (0, 1)),"
    "  created INTEGER NOT NULL,"
    "  retired INTEGER);"
    "CREATE UNIQUE INDEX bindings_one_active ON bindings(key) WHERE active = 1;"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  who TEXT NOT NULL,"
    "  what TEXT NOT NULL,"
    "  key TEXT REFERENCES keys(key),"
    "  before TEXT,"
    "  after TEXT);",
    /* 2: the nonces of the activation requests accepted, so none is accepted twice */
    "CREATE TABLE nonces ("
    "  nonce TEXT PRIMARY KEY CHECK (length(nonce) = 32),"
    "  key TEXT NOT NULL,"
    "  seen INTEGER NOT NULL);"
    "CREATE INDEX nonces_seen ON nonces(seen);",
    /* 3: when an installation was found on two machines (a clone) */
    "ALTER TABLE keys ADD COLUMN cloned INTEGER;",
    /* 4: cluster keys (kind 'cluster', a node limit), which serve up to that
     * many installations, their nodes, each with its own bindings and the
     * peak it last reported. A CHECK cannot be altered: keys is made anew
     * (SQLite's twelve steps, run with foreign keys off, see migrate()). */
    "CREATE TABLE keys_v4 ("
    "  key TEXT PRIMARY KEY,"
    "  customer TEXT NOT NULL CHECK (length(customer) BETWEEN 1 AND 128),"
    "  seats INTEGER NOT NULL CHECK (seats BETWEEN 1 AND 1000000),"
    "  kind TEXT NOT NULL CHECK (kind IN ('standard', 'failover', 'cluster')),"
    "  primary_key TEXT REFERENCES keys(key),"
    "  state TEXT NOT NULL CHECK (state IN ('issued', 'activated', 'refunded', 'split',"
    "                                       'replaced')),"
    "  perpetual INTEGER NOT NULL CHECK (perpetual IN (0, 1)),"
    "  rule TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  support_until INTEGER NOT NULL,"
    "  sunset INTEGER,"
    "  origin TEXT REFERENCES keys(key),"
    "  replaced_by TEXT REFERENCES keys(key),"
    "  activated INTEGER,"
    "  installation_id TEXT CHECK (installation_id IS NULL OR length(installation_id) = 32),"
    "  installation_public_key BLOB CHECK (installation_public_key IS NULL OR"
    "                                      length(installation_public_key) = 32),"
    "  cloned INTEGER,"
    "  nodes INTEGER CHECK (nodes IS NULL OR nodes BETWEEN 2 AND 64),"
    "  CHECK ((kind = 'failover') = (primary_key IS NOT NULL)),"
    "  CHECK ((kind = 'cluster') = (nodes IS NOT NULL)),"
    "  CHECK (kind = 'cluster' OR (activated IS NULL) = (installation_id IS NULL)),"
    "  CHECK (kind <> 'cluster' OR installation_id IS NULL));"
    "INSERT INTO keys_v4 (key, customer, seats, kind, primary_key, state, perpetual, rule,"
    "  created, support_until, sunset, origin, replaced_by, activated, installation_id,"
    "  installation_public_key, cloned)"
    "  SELECT key, customer, seats, kind, primary_key, state, perpetual, rule, created,"
    "  support_until, sunset, origin, replaced_by, activated, installation_id,"
    "  installation_public_key, cloned FROM keys;"
    "DROP TABLE keys;"
    "ALTER TABLE keys_v4 RENAME TO keys;"
    "CREATE INDEX keys_customer ON keys(customer);"
    "CREATE TABLE nodes ("
    "  key TEXT NOT NULL REFERENCES keys(key),"
    "  installation_id TEXT NOT NULL CHECK (length(installation_id) = 32),"
    "  installation_public_key BLOB NOT NULL CHECK (length(installation_public_key) = 32),"
    "  activated INTEGER NOT NULL,"
    "  refreshed INTEGER NOT NULL,"
    "  peak INTEGER CHECK (peak IS NULL OR peak BETWEEN 0 AND 1000000),"
    "  reported INTEGER,"
    "  cloned INTEGER,"
    "  CHECK ((peak IS NULL) = (reported IS NULL)),"
    "  PRIMARY KEY (key, installation_id));"
    "ALTER TABLE bindings ADD COLUMN node TEXT CHECK (node IS NULL OR length(node) = 32);"
    "DROP INDEX bindings_one_active;"
    "CREATE UNIQUE INDEX bindings_one_active ON bindings(key, ifnull(node, '')) WHERE active = 1;",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(NMIGRATIONS == LEDGER_SCHEMA_VERSION, "one migration per schema version");

static int db_fail(struct ledger *ledger)
{
    errbuf_set(ledger->error, sizeof(ledger->error), "%s", sqlite3_errmsg(ledger->db));
    return -EIO;
}

const char *ledger_error(const struct ledger *ledger)
{
    return ledger->error;
}

static int exec(struct ledger *ledger, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(ledger->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        errbuf_set(ledger->error, sizeof(ledger->error), "%s",
                   msg != NULL ? msg : sqlite3_errmsg(ledger->db));
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static int user_version(struct ledger *ledger, int *version)
{
    sqlite3_stmt *st;
    int ret = -EIO;

    if (sqlite3_prepare_v2(ledger->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        ret = 0;
    } else {
        ret = db_fail(ledger);
    }
    sqlite3_finalize(st);
    return ret;
}

/* Counts the rows of PRAGMA foreign_key_check. */
static int count_row(void *arg, int ncol, char **values, char **names)
{
    (void)ncol;
    (void)values;
    (void)names;
    ++*(unsigned *)arg;
    return 0;
}

/* A migration runs with foreign keys off (a table made anew would trip
 * them); what it leaves must still satisfy them. */
static int foreign_keys_hold(struct ledger *ledger)
{
    unsigned violations = 0;
    char *msg = NULL;

    if (sqlite3_exec(ledger->db, "PRAGMA foreign_key_check", count_row, &violations, &msg) !=
        SQLITE_OK) {
        errbuf_set(ledger->error, sizeof(ledger->error), "%s",
                   msg != NULL ? msg : sqlite3_errmsg(ledger->db));
        sqlite3_free(msg);
        return -EIO;
    }
    if (violations > 0) {
        errbuf_set(ledger->error, sizeof(ledger->error), "%u foreign key violations", violations);
        return -EIO;
    }
    return 0;
}

static int apply_migration(struct ledger *ledger, int version)
{
    char sql[160];
    int current, ret;

    ret = ledger_begin(ledger);
    if (ret != 0)
        return ret;
    /* Another process may have migrated while we waited for the lock. */
    ret = user_version(ledger, &current);
    if (ret != 0 || current >= version)
        goto out;
    ret = exec(ledger, migrations[version - 1]);
    if (ret == 0)
        ret = foreign_keys_hold(ledger);
    if (ret != 0)
        goto out;
    snprintf(sql, sizeof(sql),
             "INSERT INTO schema_migrations (version, applied) VALUES (%d, strftime('%%s', "
             "'now'));PRAGMA user_version = %d;",
             version, version);
    ret = exec(ledger, sql);
    if (ret != 0)
        goto out;
    ret = ledger_commit(ledger);
out:
    if (ret != 0)
        ledger_rollback(ledger);
    return ret;
}

static int migrate(struct ledger *ledger, char *err, size_t errlen)
{
    int version, ret;

    ret = user_version(ledger, &version);
    if (ret != 0) {
        errbuf_set(err, errlen, "cannot read the schema version: %s", ledger->error);
        return ret;
    }
    if (version > LEDGER_SCHEMA_VERSION) {
        errbuf_set(err, errlen,
                   "ledger schema version %d is newer than this program's (%d): upgrade "
                   "licgate-authority",
                   version, LEDGER_SCHEMA_VERSION);
        return -EPROTO;
    }
    if (version == LEDGER_SCHEMA_VERSION)
        return 0;
    /* Outside a transaction, where the pragma takes effect. */
    ret = exec(ledger, "PRAGMA foreign_keys = OFF;");
    for (int v = version + 1; ret == 0 && v <= LEDGER_SCHEMA_VERSION; v++) {
        ret = apply_migration(ledger, v);
        if (ret != 0)
            errbuf_set(err, errlen, "schema migration %d failed: %s", v, ledger->error);
    }
    if (exec(ledger, "PRAGMA foreign_keys = ON;") != 0 && ret == 0) {
        errbuf_set(err, errlen, "cannot turn foreign keys on: %s", ledger->error);
        ret = -EIO;
    }
    return ret;
}

int ledger_open(const char *dir, bool create, struct ledger **out, char *err, size_t errlen)
{
    struct ledger *ledger;
    char path[4096];
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
    int ret;

    *out = NULL;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, LEDGER_FILE) >= sizeof(path)) {
        errbuf_set(err, errlen, "%s: path too long", dir);
        return -ENAMETOOLONG;
    }
    if (create) {
        /* Made here so it is 0600 from the start; SQLite would use 0644. */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            ret = -errno;
            errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
            return ret;
        }
        close(fd);
    } else if (access(path, F_OK) != 0) {
        ret = -errno;
        if (ret == -ENOENT)
            errbuf_set(err, errlen,
                       "%s: no ledger (run '"
                       "licgate-authority init --dir %s')",
                       path, dir);
        else
            errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
        return ret;
    }
    ledger = calloc(1, sizeof(*ledger));
    if (ledger == NULL) {
        errbuf_set(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (sqlite3_open_v2(path, &ledger->db, flags, NULL) != SQLITE_OK) {
        errbuf_set(err, errlen, "%s: %s", path,
                   ledger->db != NULL ? sqlite3_errmsg(ledger->db) : "cannot open");
        ret = -EIO;
        goto fail;
    }
    sqlite3_extended_result_codes(ledger->db, 1);
    sqlite3_busy_timeout(ledger->db, BUSY_TIMEOUT_MS);
    ret = exec(ledger, "PRAGMA journal_mode = WAL;PRAGMA synchronous = FULL;"
                       "PRAGMA foreign_keys = ON;");
    if (ret != 0) {
        errbuf_set(err, errlen, "%s: %s", path, ledger->error);
        goto fail;
    }
    ret = migrate(ledger, err, errlen);
    if (ret != 0)
        goto fail;
    *out = ledger;
    return 0;
fail:
    ledger_close(ledger);
    return ret;
}

void ledger_close(struct ledger *ledger)
{
    if (ledger == NULL)
        return;
    sqlite3_close_v2(ledger->db);
    free(ledger);
}

int ledger_begin(struct ledger *ledger)
{
    return exec(ledger, "BEGIN IMMEDIATE");
}

int ledger_commit(struct ledger *ledger)
{
    return exec(ledger, "COMMIT");
}

void ledger_rollback(struct ledger *ledger)
{
    if (!sqlite3_get_autocommit(ledger->db))
        sqlite3_exec(ledger->db, "ROLLBACK", NULL, NULL, NULL);
}

static const char *const state_names[] = {
    [KEY_ISSUED] = "issued", [KEY_ACTIVATED] = "activated", [KEY_REFUNDED] = "refunded",
    [KEY_SPLIT] = "split",   [KEY_REPLACED] = "replaced",
};

const char *key_state_name(enum key_state state)
{
    if ((size_t)state < sizeof(state_names) / sizeof(state_names[0]))
        return state_names[state];
    return "unknown";
}

static int state_from_name(const char *name, enum key_state *state)
{
    for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
        if (name != NULL && strcmp(name, state_names[i]) == 0) {
            *state = (enum key_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

#define KEY_COLUMNS                                                                                \
    "key, customer, seats, kind, primary_key, state, perpetual, rule, created, support_until, "    \
    "sunset, origin, replaced_by, activated, installation_id, installation_public_key, cloned, "   \
    "nodes"

static void column_text(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const unsigned char *text = sqlite3_column_text(st, col);

    snprintf(out, outlen, "%s", text != NULL ? (const char *)text : "");
}

static int read_key_row(struct ledger *ledger, sqlite3_stmt *st, struct key_record *rec)
{
    char text[32];

    memset(rec, 0, sizeof(*rec));
    column_text(st, 0, rec->key, sizeof(rec->key));
    column_text(st, 1, rec->customer, sizeof(rec->customer));
    rec->seats = (uint32_t)sqlite3_column_int64(st, 2);
    column_text(st, 3, text, sizeof(text));
    if (license_kind_from_name(text, strlen(text), &rec->kind) != 0) {
        errbuf_set(ledger->error, sizeof(ledger->error), "key %s: unknown kind '%s'", rec->key,
                   text);
        return -EIO;
    }
    column_text(st, 4, rec->primary_key, sizeof(rec->primary_key));
    column_text(st, 5, text, sizeof(text));
    if (state_from_name(text, &rec->state) != 0) {
        errbuf_set(ledger->error, sizeof(ledger->error), "key %s: unknown state '%s'", rec->key,
                   text);
        return -EIO;
    }
    rec->perpetual = sqlite3_column_int(st, 6) != 0;
    column_text(st, 7, rec->rule, sizeof(rec->rule));
    rec->created = sqlite3_column_int64(st, 8);
    rec->support_until = sqlite3_column_int64(st, 9);
    rec->sunset = sqlite3_column_int64(st, 10);
    column_text(st, 11, rec->origin, sizeof(rec->origin));
    column_text(st, 12, rec->replaced_by, sizeof(rec->replaced_by));
    rec->activated = sqlite3_column_int64(st, 13);
    column_text(st, 14, rec->installation_id, sizeof(rec->installation_id));
    if (sqlite3_column_bytes(st, 15) == (int)sizeof(rec->installation_public_key))
        memcpy(rec->installation_public_key, sqlite3_column_blob(st, 15),
               sizeof(rec->installation_public_key));
    rec->cloned = sqlite3_column_int64(st, 16);
    rec->nodes = (unsigned)sqlite3_column_int(st, 17);
    return 0;
}

int ledger_key_get(struct ledger *ledger, const char *key, struct key_record *out)
{
    sqlite3_stmt *st;
    int rc, ret;

    memset(out, 0, sizeof(*out));
    if (sqlite3_prepare_v2(ledger->db, "SELECT " KEY_COLUMNS " FROM keys WHERE key = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(ledger);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        ret = read_key_row(ledger, st, out);
    else if (rc == SQLITE_DONE)
        ret = -ENOENT;
    else
        ret = db_fail(ledger);
    sqlite3_finalize(st);
    if (ret != 0)
        memset(out, 0, sizeof(*out));
    return ret;
}

static void bind_text_or_null(sqlite3_stmt *st, int col, const char *text)
{
    if (text[0] == '\0')
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_text(st, col, text, -1, SQLITE_STATIC);
}

static void bind_time_or_null(sqlite3_stmt *st, int col, int64_t t)
{
    if (t == 0)
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_int64(st, col, t);
}

static void bind_key_row(sqlite3_stmt *st, const struct key_record *rec)
{
    sqlite3_bind_text(st, 1, rec->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rec->customer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rec->seats);
    sqlite3_bind_text(st, 4, license_kind_name(rec->kind), -1, SQLITE_STATIC);
    bind_text_or_null(st, 5, rec->primary_key);
    sqlite3_bind_text(st, 6, key_state_name(rec->state), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, rec->perpetual ? 1 : 0);
    sqlite3_bind_text(st, 8, rec->rule, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, rec->created);
    sqlite3_bind_int64(st, 10, rec->support_until);
    bind_time_or_null(st, 11, rec->sunset);
    bind_text_or_null(st, 12, rec->origin);
    bind_text_or_null(st, 13, rec->replaced_by);
    bind_time_or_null(st, 14, rec->activated);
    bind_text_or_null(st, 15, rec->installation_id);
    if (rec->installation_id[0] == '\0')
        sqlite3_bind_null(st, 16);
    else
        sqlite3_bind_blob(st, 16, rec->installation_public_key,
                          sizeof(rec->installation_public_key), SQLITE_STATIC);
    bind_time_or_null(st, 17, rec->cloned);
    if (rec->nodes == 0)
        sqlite3_bind_null(st, 18);
    else
        sqlite3_bind_int(st, 18, (int)rec->nodes);
}

/* One INSERT or UPDATE of a row bound by bind: 0, -EEXIST for a taken primary key, missing when
 * no row changed, or the ledger's failure. */
static int write_row(struct ledger *ledger, const char *sql,
                     void (*bind)(sqlite3_stmt *st, const void *row), const void *row, int missing)
{
    sqlite3_stmt *st;
    int rc, ret = 0;

    if (sqlite3_prepare_v2(ledger->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    bind(st, row);
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        ret = -EEXIST;
    else if (rc != SQLITE_DONE)
        ret = db_fail(ledger);
    else if (sqlite3_changes(ledger->db) != 1)
        ret = missing;
    sqlite3_finalize(st);
    return ret;
}

static void bind_key_record(sqlite3_stmt *st, const void *row)
{
    bind_key_row(st, row);
}

static int write_key(struct ledger *ledger, const char *sql, const struct key_record *rec,
                     int missing)
{
    return write_row(ledger, sql, bind_key_record, rec, missing);
}

int ledger_key_insert(struct ledger *ledger, const struct key_record *rec)
{
    return write_key(ledger,
                     "INSERT INTO keys (" KEY_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                     "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                     rec, -EIO);
}

int ledger_key_update(struct ledger *ledger, const struct key_record *rec)
{
    return write_key(
        ledger,
        "UPDATE keys SET customer = ?2, seats = ?3, kind = ?4, primary_key = ?5, "
        "state = ?6, perpetual = ?7, rule = ?8, created = ?9, support_until = ?10, "
        "sunset = ?11, origin = ?12, replaced_by = ?13, activated = ?14, "
        "installation_id = ?15, installation_public_key = ?16, cloned = ?17, nodes = ?18 "
        "WHERE key = ?1",
        rec, -ENOENT);
}

int ledger_key_list(struct ledger *ledger, const char *customer, struct key_record **out,
                    size_t *count)
{
    struct key_record *list = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st;
    int rc, ret = 0;

    *out = NULL;
    *count = 0;
    if (sqlite3_prepare_v2(ledger->db,
                           "SELECT " KEY_COLUMNS " FROM keys WHERE ?1 IS NULL OR customer = ?1 "
                           "ORDER BY created, rowid",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    if (customer != NULL)
        sqlite3_bind_text(st, 1, customer, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            struct key_record *grown = realloc(list, ncap * sizeof(*list));
            if (grown == NULL) {
                ret = -ENOMEM;
                goto out;
            }
            list = grown;
            cap = ncap;
        }
        ret = read_key_row(ledger, st, &list[n]);
        if (ret != 0)
            goto out;
        n++;
    }
    if (rc != SQLITE_DONE)
        ret = db_fail(ledger);
out:
    sqlite3_finalize(st);
    if (ret != 0) {
        free(list);
        return ret;
    }
    *out = list;
    *count = n;
    return 0;
}

/* The first row of sql, run with one text parameter: 0 with its column 0 as
 * text in out and, when second is not NULL, its column 1 in *second; -ENOENT
 * when there is no row. */
static int first_row(struct ledger *ledger, const char *sql, const char *param, char *out,
                     size_t outlen, int64_t *second)
{
    sqlite3_stmt *st;
    int rc, ret;

    out[0] = '\0';
    if (second != NULL)
        *second = 0;
    if (sqlite3_prepare_v2(ledger->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        column_text(st, 0, out, outlen);
        if (second != NULL)
            *second = sqlite3_column_int64(st, 1);
        ret = 0;
    } else {
        ret = rc == SQLITE_DONE ? -ENOENT : db_fail(ledger);
    }
    sqlite3_finalize(st);
    return ret;
}

int ledger_failover_of(struct ledger *ledger, const char *primary, char out[KEYSTRING_BUFSIZE])
{
    return first_row(ledger,
                     "SELECT key FROM keys WHERE primary_key = ?1 AND state NOT IN ('refunded', "
                     "'replaced') LIMIT 1",
                     primary, out, KEYSTRING_BUFSIZE, NULL);
}

int ledger_installation_cloned(struct ledger *ledger, const char *installation_id,
                               char key[KEYSTRING_BUFSIZE], int64_t *cloned)
{
    return first_row(ledger,
                     "SELECT key, cloned FROM keys WHERE installation_id = ?1 AND cloned IS NOT "
                     "NULL UNION ALL SELECT key, cloned FROM nodes WHERE installation_id = ?1 AND "
                     "cloned IS NOT NULL ORDER BY cloned LIMIT 1",
                     installation_id, key, KEYSTRING_BUFSIZE, cloned);
}

/* Binds a binding's node: NULL (the key's one installation) or its installation id. */
static void bind_node(sqlite3_stmt *st, int col, const char *node)
{
    if (node == NULL)
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_text(st, col, node, -1, SQLITE_STATIC);
}

int ledger_binding_active(struct ledger *ledger, const char *key, const char *node, char *out,
                          size_t outlen)
{
    sqlite3_stmt *st;
    int rc, ret;

    out[0] = '\0';
    if (sqlite3_prepare_v2(ledger->db,
                           "SELECT binding FROM bindings WHERE key = ?1 AND node IS ?2 AND "
                           "active = 1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    bind_node(st, 2, node);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        column_text(st, 0, out, outlen);
        ret = 0;
    } else {
        ret = rc == SQLITE_DONE ? -ENOENT : db_fail(ledger);
    }
    sqlite3_finalize(st);
    return ret;
}

static int run_bound(struct ledger *ledger, const char *sql, const char *key, const char *node,
                     int64_t t, const char *text, int flag)
{
    sqlite3_stmt *st;
    int ret = 0;

    if (sqlite3_prepare_v2(ledger->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, t);
    if (text != NULL)
        sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, flag);
    bind_node(st, 5, node);
    if (sqlite3_step(st) != SQLITE_DONE)
        ret = db_fail(ledger);
    sqlite3_finalize(st);
    return ret;
}

int ledger_binding_set(struct ledger *ledger, const char *key, const char *node,
                       const char *binding, int64_t now, bool rebind)
{
    int ret;

    ret = run_bound(ledger,
                    "UPDATE bindings SET active = 0, retired = ?2 WHERE key = ?1 AND node IS ?5 "
                    "AND active = 1",
                    key, node, now, NULL, 0);
    if (ret != 0)
        return ret;
    return run_bound(ledger,
                     "INSERT INTO bindings (key, binding, active, rebind, created, node) "
                     "VALUES (?1, ?3, 1, ?4, ?2, ?5)",
                     key, node, now, binding, rebind ? 1 : 0);
}

int ledger_bindings_retired(struct ledger *ledger, const char *key, const char *node, char ***texts,
                            size_t *n)
{
    sqlite3_stmt *st;
    char **list = NULL, **grown;
    int rc, ret = 0;

    *texts = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(ledger->db,
                           "SELECT binding FROM bindings WHERE key = ?1 AND node IS ?2 AND "
                           "active = 0 ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    bind_node(st, 2, node);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(st, 0);

        grown = reallocarray(list, *n + 1, sizeof(*list));
        if (grown == NULL || (grown[*n] = strdup(text != NULL ? (const char *)text : "")) == NULL) {
            list = grown != NULL ? grown : list;
            ret = -ENOMEM;
            break;
        }
        list = grown;
        (*n)++;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = db_fail(ledger);
    sqlite3_finalize(st);
    if (ret != 0) {
        for (size_t i = 0; i < *n; i++)
            free(list[i]);
        free(list);
        *n = 0;
        return ret;
    }
    *texts = list;
    return 0;
}

int ledger_children(struct ledger *ledger, const char *key, char (**out)[KEYSTRING_BUFSIZE],
                    size_t *n)
{
    char(*list)[KEYSTRING_BUFSIZE] = NULL, (*grown)[KEYSTRING_BUFSIZE];
    sqlite3_stmt *st;
    int rc, ret = 0;

    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(ledger->db,
                           "SELECT key FROM keys WHERE origin = ?1 ORDER BY created, rowid", -1,
                           &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        grown = reallocarray(list, *n + 1, sizeof(*list));
        if (grown == NULL) {
            ret = -ENOMEM;
            break;
        }
        list = grown;
        column_text(st, 0, list[*n], sizeof(list[*n]));
        (*n)++;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = db_fail(ledger);
    sqlite3_finalize(st);
    if (ret != 0) {
        free(list);
        *n = 0;
        return ret;
    }
    *out = list;
    return 0;
}

int ledger_rebinds_since(struct ledger *ledger, const char *key, const char *node, int64_t since,
                         unsigned *count)
{
    sqlite3_stmt *st;
    int ret = 0;

    *count = 0;
    if (sqlite3_prepare_v2(ledger->db,
                           "SELECT count(*) FROM bindings WHERE key = ?1 AND node IS ?3 AND "
                           "rebind = 1 AND created > ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    bind_node(st, 3, node);
    if (sqlite3_step(st) == SQLITE_ROW)
        *count = (unsigned)sqlite3_column_int(st, 0);
    else
        ret = db_fail(ledger);
    sqlite3_finalize(st);
    return ret;
}

/* ------------------------------------------------------------------ cluster nodes */

#define NODE_COLUMNS                                                                               \
    "key, installation_id, installation_public_key, activated, refreshed, peak, reported, cloned"

static void read_node_row(sqlite3_stmt *st, struct node_record *node)
{
    memset(node, 0, sizeof(*node));
    column_text(st, 0, node->key, sizeof(node->key));
    column_text(st, 1, node->installation_id, sizeof(node->installation_id));
    if (sqlite3_column_bytes(st, 2) == (int)sizeof(node->installation_public_key))
        memcpy(node->installation_public_key, sqlite3_column_blob(st, 2),
               sizeof(node->installation_public_key));
    node->activated = sqlite3_column_int64(st, 3);
    node->refreshed = sqlite3_column_int64(st, 4);
    node->peak = (uint32_t)sqlite3_column_int64(st, 5);
    node->reported = sqlite3_column_int64(st, 6);
    node->cloned = sqlite3_column_int64(st, 7);
}

int ledger_node_get(struct ledger *ledger, const char *key, const char *installation_id,
                    struct node_record *out)
{
    sqlite3_stmt *st;
    int rc, ret = 0;

    memset(out, 0, sizeof(*out));
    if (sqlite3_prepare_v2(ledger->db,
                           "SELECT " NODE_COLUMNS " FROM nodes WHERE key = ?1 AND "
                           "installation_id = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, installation_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_node_row(st, out);
    else
        ret = rc == SQLITE_DONE ? -ENOENT : db_fail(ledger);
    sqlite3_finalize(st);
    return ret;
}

static void bind_node_row(sqlite3_stmt *st, const struct node_record *node)
{
    sqlite3_bind_text(st, 1, node->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, node->installation_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, node->installation_public_key, sizeof(node->installation_public_key),
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, node->activated);
    sqlite3_bind_int64(st, 5, node->refreshed);
    if (node->reported == 0)
        sqlite3_bind_null(st, 6);
    else
        sqlite3_bind_int64(st, 6, node->peak);
    bind_time_or_null(st, 7, node->reported);
    bind_time_or_null(st, 8, node->cloned);
}

static void bind_node_record(sqlite3_stmt *st, const void *row)
{
    bind_node_row(st, row);
}

static int write_node(struct ledger *ledger, const char *sql, const struct node_record *node,
                      int missing)
{
    return write_row(ledger, sql, bind_node_record, node, missing);
}

int ledger_node_insert(struct ledger *ledger, const struct node_record *node)
{
    return write_node(
        ledger, "INSERT INTO nodes (" NODE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        node, -EIO);
}

int ledger_node_update(struct ledger *ledger, const struct node_record *node)
{
    return write_node(ledger,
                      "UPDATE nodes SET refreshed = ?5, peak = ?6, reported = ?7, cloned = ?8 "
                      "WHERE key = ?1 AND installation_id = ?2",
                      node, -ENOENT);
}

int ledger_nodes(struct ledger *ledger, const char *key, struct node_record **out, size_t *n)
{
    struct node_record *list = NULL, *grown;
    sqlite3_stmt *st;
    int rc, ret = 0;

    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(ledger->db,
                           "SELECT " NODE_COLUMNS " FROM nodes WHERE key = ?1 ORDER BY activated, "
                           "rowid",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        grown = reallocarray(list, *n + 1, sizeof(*list));
        if (grown == NULL) {
            ret = -ENOMEM;
            break;
        }
        list = grown;
        read_node_row(st, &list[(*n)++]);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = db_fail(ledger);
    sqlite3_finalize(st);
    if (ret != 0) {
        free(list);
        *n = 0;
        return ret;
    }
    *out = list;
    return 0;
}

int ledger_node_usage(struct ledger *ledger, const char *key, unsigned *nodes, uint64_t *peak_sum)
{
    sqlite3_stmt *st;
    int ret = 0;

    *nodes = 0;
    *peak_sum = 0;
    if (sqlite3_prepare_v2(ledger->db,
                           "SELECT count(*), ifnull(sum(peak), 0) FROM nodes WHERE key = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *nodes = (unsigned)sqlite3_column_int(st, 0);
        *peak_sum = (uint64_t)sqlite3_column_int64(st, 1);
    } else {
        ret = db_fail(ledger);
    }
    sqlite3_finalize(st);
    return ret;
}

int ledger_nonce_use(struct ledger *ledger, const char *nonce, const char *key, int64_t now,
                     int64_t forget_before, int64_t *seen)
{
    sqlite3_stmt *st = NULL;
    int ret;

    *seen = 0;
    ret = ledger_begin(ledger);
    if (ret != 0)
        return ret;
    if (sqlite3_prepare_v2(ledger->db, "DELETE FROM nonces WHERE seen < ?1", -1, &st, NULL) !=
        SQLITE_OK)
        goto fail;
    sqlite3_bind_int64(st, 1, forget_before);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(ledger->db, "SELECT seen FROM nonces WHERE nonce = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, nonce, -1, SQLITE_STATIC);
    ret = sqlite3_step(st);
    if (ret == SQLITE_ROW) {
        *seen = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        ledger_rollback(ledger);
        return -EEXIST;
    }
    if (ret != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(ledger->db, "INSERT INTO nonces (nonce, key, seen) VALUES (?1, ?2, ?3)",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, nonce, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    return ledger_commit(ledger);
fail:
    ret = db_fail(ledger);
    sqlite3_finalize(st);
    ledger_rollback(ledger);
    return ret;
}

int ledger_audit(struct ledger *ledger, int64_t at, const char *who, const char *what,
                 const char *key, const char *before, const char *after)
{
    sqlite3_stmt *st;
    int ret = 0;

    if (sqlite3_prepare_v2(ledger->db,
                           "INSERT INTO audit (at, who, what, key, before, after) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(ledger);
    sqlite3_bind_int64(st, 1, at);
    sqlite3_bind_text(st, 2, who, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, what, -1, SQLITE_STATIC);
    if (key != NULL)
        sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
    if (before != NULL)
        sqlite3_bind_text(st, 5, before, -1, SQLITE_STATIC);
    if (after != NULL)
        sqlite3_bind_text(st, 6, after, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        ret = db_fail(ledger);
    sqlite3_finalize(st);
    return ret;
}

/* The record as compact JSON for the audit trail, with the node (a cluster
 * key's installation) and the binding when not NULL; NULL on allocation
 * failure. */
static char *record_text(const struct key_record *rec, const char *node, const char *binding)
{
    json_object *obj = key_record_json(rec);
    char *text;

    if (obj == NULL)
        return NULL;
    if (node != NULL)
        json_object_object_add(obj, "node", json_object_new_string(node));
    if (binding != NULL)
        json_object_object_add(obj, "binding", json_object_new_string(binding));
    text = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(obj);
    return text;
}

int ledger_audit_node_change(struct ledger *ledger, int64_t at, const char *who, const char *what,
                             const struct key_record *before, const struct key_record *after,
                             const char *node, const char *binding_before,
                             const char *binding_after)
{
    char *btext = NULL, *atext = NULL;
    int ret = -ENOMEM;

    if (before != NULL && (btext = record_text(before, node, binding_before)) == NULL)
        goto out;
    if ((atext = record_text(after, node, binding_after)) == NULL)
        goto out;
    ret = ledger_audit(ledger, at, who, what, after->key, btext, atext);
out:
    free(btext);
    free(atext);
    return ret;
}

int ledger_audit_change(struct ledger *ledger, int64_t at, const char *who, const char *what,
                        const struct key_record *before, const struct key_record *after,
                        const char *binding_before, const char *binding_after)
{
    return ledger_audit_node_change(ledger, at, who, what, before, after, NULL, binding_before,
                                    binding_after);
}

static json_object *json_time(int64_t t)
{
    char when[LICENSE_TIME_BUFSIZE];

    if (t == 0 || license_format_time(t, when, sizeof(when)) != 0)
        return NULL;
    return json_object_new_string(when);
}

static json_object *json_text(const char *text)
{
    return text == NULL || text[0] == '\0' ? NULL : json_object_new_string(text);
}

static json_object *json_parsed(const char *text)
{
    return text == NULL ? NULL : json_tokener_parse(text);
}

int ledger_audit_json(struct ledger *ledger, json_object **out)
{
    json_object *array = json_object_new_array();
    sqlite3_stmt *st;
    int rc, ret = 0;

    *out = NULL;
    if (array == NULL)
        return -ENOMEM;
    if (sqlite3_prepare_v2(ledger->db,
                           "SELECT id, at, who, what, key, before, after FROM audit ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        json_object_put(array);
        return db_fail(ledger);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_object *row = json_object_new_object();

        json_object_object_add(row, "id", json_object_new_int64(sqlite3_column_int64(st, 0)));
        json_object_object_add(row, "at", json_time(sqlite3_column_int64(st, 1)));
        json_object_object_add(row, "who", json_text((const char *)sqlite3_column_text(st, 2)));
        json_object_object_add(row, "what", json_text((const char *)sqlite3_column_text(st, 3)));
        json_object_object_add(row, "key", json_text((const char *)sqlite3_column_text(st, 4)));
        json_object_object_add(row, "before",
                               json_parsed((const char *)sqlite3_column_text(st, 5)));
        json_object_object_add(row, "after", json_parsed((const char *)sqlite3_column_text(st, 6)));
        json_object_array_add(array, row);
    }
    if (rc != SQLITE_DONE)
        ret = db_fail(ledger);
    sqlite3_finalize(st);
    if (ret != 0) {
        json_object_put(array);
        return ret;
    }
    *out = array;
    return 0;
}

json_object *key_record_json(const struct key_record *rec)
{
    json_object *obj = json_object_new_object();

    if (obj == NULL)
        return NULL;
    json_object_object_add(obj, "key", json_object_new_string(rec->key));
    json_object_object_add(obj, "customer", json_object_new_string(rec->customer));
    json_object_object_add(obj, "seats", json_object_new_int64(rec->seats));
    json_object_object_add(obj, "kind", json_object_new_string(license_kind_name(rec->kind)));
    json_object_object_add(obj, "primary_key", json_text(rec->primary_key));
    json_object_object_add(obj, "state", json_object_new_string(key_state_name(rec->state)));
    json_object_object_add(obj, "perpetual", json_object_new_boolean(rec->perpetual));
    json_object_object_add(obj, "rule", json_object_new_string(rec->rule));
    json_object_object_add(obj, "created", json_time(rec->created));
    json_object_object_add(obj, "support_until", json_time(rec->support_until));
    json_object_object_add(obj, "sunset", json_time(rec->sunset));
    json_object_object_add(obj, "origin", json_text(rec->origin));
    json_object_object_add(obj, "replaced_by", json_text(rec->replaced_by));
    json_object_object_add(obj, "activated", json_time(rec->activated));
    json_object_object_add(obj, "installation_id", json_text(rec->installation_id));
    json_object_object_add(obj, "cloned", json_time(rec->cloned));
    if (rec->kind == LICENSE_KIND_CLUSTER)
        json_object_object_add(obj, "node_limit", json_object_new_int64(rec->nodes));
    return obj;
}

json_object *node_record_json(const struct node_record *node)
{
    json_object *obj = json_object_new_object();

    if (obj == NULL)
        return NULL;
    json_object_object_add(obj, "installation_id", json_object_new_string(node->installation_id));
    json_object_object_add(obj, "activated", json_time(node->activated));
    json_object_object_add(obj, "last_refresh", json_time(node->refreshed));
    json_object_object_add(obj, "peak",
                           node->reported != 0 ? json_object_new_int64(node->peak) : NULL);
    json_object_object_add(obj, "reported", json_time(node->reported));
    json_object_object_add(obj, "cloned", json_time(node->cloned));
    return obj;
}
