namespace Gatehouse.Management.Stores;

/// <summary>
/// The schema, as the ordered list of steps that build it. Never edit a released step: add a new one.
/// Bodies are TEXT on both databases (not jsonb): the store returns a body exactly as committed, and
/// "same body" (a no-op change) means the same text.
/// </summary>
internal static class Migrations
{
    public static readonly IReadOnlyList<Migration> All =
    [
        new(
            1,
            Sqlite: """
                CREATE TABLE revisions (
                    number INTEGER PRIMARY KEY,
                    created_at TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    summary TEXT NOT NULL);
                CREATE TABLE resources (
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    body TEXT NOT NULL,
                    valid_from INTEGER NOT NULL,
                    valid_to INTEGER NULL,
                    PRIMARY KEY (kind, name, valid_from));
                CREATE UNIQUE INDEX resources_current ON resources (kind, name) WHERE valid_to IS NULL;
                CREATE INDEX resources_valid_to ON resources (valid_to) WHERE valid_to IS NOT NULL;
                CREATE INDEX resources_valid_from ON resources (valid_from);
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    revision INTEGER NOT NULL,
                    before TEXT NULL,
                    after TEXT NULL);
                CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE nodes (id TEXT PRIMARY KEY, revision INTEGER NOT NULL, last_seen TEXT NOT NULL, info TEXT NOT NULL);
                CREATE TABLE registrations (
                    service TEXT NOT NULL,
                    url TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    expires_at TEXT NOT NULL,
                    PRIMARY KEY (service, url));
                CREATE INDEX registrations_expires_at ON registrations (expires_at);
                """,
            Postgres: """
                CREATE TABLE revisions (
                    number BIGINT PRIMARY KEY,
                    created_at TIMESTAMPTZ NOT NULL,
                    actor TEXT NOT NULL,
                    summary TEXT NOT NULL);
                CREATE TABLE resources (
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    body TEXT NOT NULL,
                    valid_from BIGINT NOT NULL,
                    valid_to BIGINT NULL,
                    PRIMARY KEY (kind, name, valid_from));
                CREATE UNIQUE INDEX resources_current ON resources (kind, name) WHERE valid_to IS NULL;
                CREATE INDEX resources_valid_to ON resources (valid_to) WHERE valid_to IS NOT NULL;
                CREATE INDEX resources_valid_from ON resources (valid_from);
                CREATE TABLE audit (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    at TIMESTAMPTZ NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    revision BIGINT NOT NULL,
                    before TEXT NULL,
                    after TEXT NULL);
                CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE nodes (id TEXT PRIMARY KEY, revision BIGINT NOT NULL, last_seen TIMESTAMPTZ NOT NULL, info TEXT NOT NULL);
                CREATE TABLE registrations (
                    service TEXT NOT NULL,
                    url TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    expires_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (service, url));
                CREATE INDEX registrations_expires_at ON registrations (expires_at);
                """),
        new(
            2,
            Sqlite: """
                CREATE TABLE quota_counts (
                    application TEXT NOT NULL,
                    limit_key TEXT NOT NULL,
                    period TEXT NOT NULL,
                    window_index INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (application, limit_key, window_index));
                """,
            Postgres: """
                CREATE TABLE quota_counts (
                    application TEXT NOT NULL,
                    limit_key TEXT NOT NULL,
                    period TEXT NOT NULL,
                    window_index BIGINT NOT NULL,
                    count BIGINT NOT NULL,
                    PRIMARY KEY (application, limit_key, window_index));
                """),
        new(
            3,
            // Consumer data (issue 18): outside config revisions, with its own change log. Every change takes the next
            // 'seq' under the consumer write lock, so nodes that read "seq > last seen" never miss one (docs/portal.md).
            Sqlite: """
                CREATE TABLE consumer_accounts (
                    id TEXT PRIMARY KEY,
                    email TEXT NOT NULL,
                    title TEXT NOT NULL,
                    password_hash TEXT NULL,
                    state TEXT NOT NULL,
                    stamp TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    version INTEGER NOT NULL);
                CREATE UNIQUE INDEX consumer_accounts_email ON consumer_accounts (email);
                CREATE INDEX consumer_accounts_state ON consumer_accounts (state, id);
                CREATE TABLE consumer_applications (
                    id TEXT PRIMARY KEY,
                    account TEXT NOT NULL,
                    title TEXT NOT NULL,
                    description TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    state TEXT NOT NULL,
                    keys TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    deleted INTEGER NOT NULL);
                CREATE INDEX consumer_applications_account ON consumer_applications (account, id);
                CREATE INDEX consumer_applications_seq ON consumer_applications (seq);
                CREATE INDEX consumer_applications_state ON consumer_applications (state, id);
                CREATE TABLE consumer_changes (
                    seq INTEGER PRIMARY KEY,
                    at TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    before TEXT NULL,
                    after TEXT NULL);
                CREATE TABLE consumer_tokens (
                    hash TEXT PRIMARY KEY,
                    purpose TEXT NOT NULL,
                    account TEXT NOT NULL,
                    expires_at TEXT NOT NULL);
                CREATE TABLE admin_users (
                    email TEXT PRIMARY KEY,
                    password_hash TEXT NOT NULL,
                    role TEXT NOT NULL,
                    created_at TEXT NOT NULL);
                """,
            Postgres: """
                CREATE TABLE consumer_accounts (
                    id TEXT PRIMARY KEY,
                    email TEXT NOT NULL,
                    title TEXT NOT NULL,
                    password_hash TEXT NULL,
                    state TEXT NOT NULL,
                    stamp TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL,
                    version BIGINT NOT NULL);
                CREATE UNIQUE INDEX consumer_accounts_email ON consumer_accounts (email);
                CREATE INDEX consumer_accounts_state ON consumer_accounts (state, id);
                CREATE TABLE consumer_applications (
                    id TEXT PRIMARY KEY,
                    account TEXT NOT NULL,
                    title TEXT NOT NULL,
                    description TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    state TEXT NOT NULL,
                    keys TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL,
                    seq BIGINT NOT NULL,
                    deleted INTEGER NOT NULL);
                CREATE INDEX consumer_applications_account ON consumer_applications (account, id);
                CREATE INDEX consumer_applications_seq ON consumer_applications (seq);
                CREATE INDEX consumer_applications_state ON consumer_applications (state, id);
                CREATE TABLE consumer_changes (
                    seq BIGINT PRIMARY KEY,
                    at TIMESTAMPTZ NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    before TEXT NULL,
                    after TEXT NULL);
                CREATE TABLE consumer_tokens (
                    hash TEXT PRIMARY KEY,
                    purpose TEXT NOT NULL,
                    account TEXT NOT NULL,
                    expires_at TIMESTAMPTZ NOT NULL);
                CREATE TABLE admin_users (
                    email TEXT PRIMARY KEY,
                    password_hash TEXT NOT NULL,
                    role TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL);
                """),
        // Usage rollups (issue 19): one table per granularity, one row per node, bucket and (application, plan, operation,
        // status); application '*' rows add up every application. Histograms are LatencyHistogram's compact bytes.
        new(
            4,
            Sqlite: """
                CREATE TABLE usage_minute (
                    bucket INTEGER NOT NULL,
                    node TEXT NOT NULL,
                    application TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    bytes_in INTEGER NOT NULL,
                    bytes_out INTEGER NOT NULL,
                    latency_sum INTEGER NOT NULL,
                    steps INTEGER NOT NULL,
                    histogram BLOB NOT NULL,
                    PRIMARY KEY (bucket, application, plan, operation, status, node));
                CREATE INDEX usage_minute_application ON usage_minute (application, bucket);
                CREATE TABLE usage_hour (
                    bucket INTEGER NOT NULL,
                    node TEXT NOT NULL,
                    application TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    bytes_in INTEGER NOT NULL,
                    bytes_out INTEGER NOT NULL,
                    latency_sum INTEGER NOT NULL,
                    steps INTEGER NOT NULL,
                    histogram BLOB NOT NULL,
                    PRIMARY KEY (bucket, application, plan, operation, status, node));
                CREATE INDEX usage_hour_application ON usage_hour (application, bucket);
                CREATE TABLE usage_day (
                    bucket INTEGER NOT NULL,
                    node TEXT NOT NULL,
                    application TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    bytes_in INTEGER NOT NULL,
                    bytes_out INTEGER NOT NULL,
                    latency_sum INTEGER NOT NULL,
                    steps INTEGER NOT NULL,
                    histogram BLOB NOT NULL,
                    PRIMARY KEY (bucket, application, plan, operation, status, node));
                CREATE INDEX usage_day_application ON usage_day (application, bucket);
                """,
            Postgres: """
                CREATE TABLE usage_minute (
                    bucket BIGINT NOT NULL,
                    node TEXT NOT NULL,
                    application TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    count BIGINT NOT NULL,
                    bytes_in BIGINT NOT NULL,
                    bytes_out BIGINT NOT NULL,
                    latency_sum BIGINT NOT NULL,
                    steps BIGINT NOT NULL,
                    histogram BYTEA NOT NULL,
                    PRIMARY KEY (bucket, application, plan, operation, status, node));
                CREATE INDEX usage_minute_application ON usage_minute (application, bucket);
                CREATE TABLE usage_hour (
                    bucket BIGINT NOT NULL,
                    node TEXT NOT NULL,
                    application TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    count BIGINT NOT NULL,
                    bytes_in BIGINT NOT NULL,
                    bytes_out BIGINT NOT NULL,
                    latency_sum BIGINT NOT NULL,
                    steps BIGINT NOT NULL,
                    histogram BYTEA NOT NULL,
                    PRIMARY KEY (bucket, application, plan, operation, status, node));
                CREATE INDEX usage_hour_application ON usage_hour (application, bucket);
                CREATE TABLE usage_day (
                    bucket BIGINT NOT NULL,
                    node TEXT NOT NULL,
                    application TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    count BIGINT NOT NULL,
                    bytes_in BIGINT NOT NULL,
                    bytes_out BIGINT NOT NULL,
                    latency_sum BIGINT NOT NULL,
                    steps BIGINT NOT NULL,
                    histogram BYTEA NOT NULL,
                    PRIMARY KEY (bucket, application, plan, operation, status, node));
                CREATE INDEX usage_day_application ON usage_day (application, bucket);
                """),
        // Limits across nodes (issue 21): the counters of 'scope: cluster' limits when PostgreSQL is the counter engine,
        // one row per counter and window ('last_grant' is what the last lease of it granted, for RETURNING), and the
        // nodes that count with it (for 'onEngineDown: share'). SQLite is no counter engine (docs/limits.md); it gets
        // the same tables so that both stores have one schema per version, and they stay empty.
        new(
            5,
            Sqlite: """
                CREATE TABLE limit_counters (
                    counter_key TEXT NOT NULL,
                    window_index INTEGER NOT NULL,
                    used INTEGER NOT NULL,
                    last_grant INTEGER NOT NULL,
                    expires_at TEXT NOT NULL,
                    PRIMARY KEY (counter_key, window_index));
                CREATE TABLE limit_nodes (node TEXT PRIMARY KEY, seen_at TEXT NOT NULL);
                """,
            Postgres: """
                CREATE TABLE limit_counters (
                    counter_key TEXT NOT NULL,
                    window_index BIGINT NOT NULL,
                    used BIGINT NOT NULL,
                    last_grant BIGINT NOT NULL,
                    expires_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (counter_key, window_index));
                CREATE INDEX limit_counters_expires ON limit_counters (expires_at);
                CREATE TABLE limit_nodes (node TEXT PRIMARY KEY, seen_at TIMESTAMPTZ NOT NULL);
                """),
        // Node tokens (issue 21): what a hybrid data node shows the node API. Only the token's SHA-256 is kept. And the
        // newest usage upload applied per hybrid node: an upload is applied once, in sequence order. Version 6:
        // version 5 is another change of issue 21 (cluster limits), merged beside this one.
        new(
            6,
            Sqlite: """
                CREATE TABLE node_tokens (
                    name TEXT PRIMARY KEY,
                    token_sha256 TEXT NOT NULL UNIQUE,
                    created_at TEXT NOT NULL);
                CREATE TABLE node_usage_uploads (
                    node TEXT PRIMARY KEY,
                    sequence INTEGER NOT NULL);
                """,
            Postgres: """
                CREATE TABLE node_tokens (
                    name TEXT PRIMARY KEY,
                    token_sha256 TEXT NOT NULL UNIQUE,
                    created_at TIMESTAMPTZ NOT NULL);
                CREATE TABLE node_usage_uploads (
                    node TEXT PRIMARY KEY,
                    sequence BIGINT NOT NULL);
                """),
        // A node token binds the node id it serves (issue 21): set when the token is issued for a node, or by its first
        // use; the node API refuses the token under any other id. Version 7.
        new(
            7,
            Sqlite: "ALTER TABLE node_tokens ADD COLUMN node TEXT;",
            Postgres: "ALTER TABLE node_tokens ADD COLUMN node TEXT;"),
        // The per-application index of each usage table also covers ranking applications by their totals (issue 19: the
        // top applications of 90 days read 1.5 million day rows through the table; the index holds what the ranking
        // sums). Version 9: 8 was handed to another change of the same day.
        new(9, Sqlite: CoveringUsageIndexes, Postgres: CoveringUsageIndexes),
        // Model usage (issue 22): tokens and cost of model calls, one table per granularity, one row per node, bucket and
        // (application, plan, alias, provider, provider model), beside the request rollups so that their rows and indexes
        // are untouched. Cost is an integer of nano-units (10^-9) of the prices' currency, so sums are exact. Version 10:
        // 8 was never used.
        new(10, Sqlite: AiUsageTables("INTEGER"), Postgres: AiUsageTables("BIGINT")),
        // Week totals of the day rows per (application, status), kept by triggers in the transaction of every write, so a
        // ranking of applications over a long range adds up one row per application, week and status instead of every
        // day row (issue 19: the top ten of 90 days read 1.5 million day rows, 0.16 s on SQLite and 0.21 s on PostgreSQL).
        // Filled from the day rows already stored. Version 11.
        new(
            11,
            Sqlite: WeekTotalsTable("INTEGER") + WeekTotalsBackfill + """
                CREATE TRIGGER usage_day_totals_insert AFTER INSERT ON usage_day WHEN NEW.application <> '*' BEGIN
                    INSERT INTO usage_week_totals (week, application, status, count)
                    VALUES (((NEW.bucket / 86400 + 3) / 7 * 7 - 3) * 86400, NEW.application, NEW.status, NEW.count)
                    ON CONFLICT (week, application, status) DO UPDATE SET count = count + excluded.count;
                END;
                CREATE TRIGGER usage_day_totals_update AFTER UPDATE OF count ON usage_day WHEN NEW.application <> '*' BEGIN
                    UPDATE usage_week_totals SET count = count + NEW.count - OLD.count
                    WHERE week = ((NEW.bucket / 86400 + 3) / 7 * 7 - 3) * 86400 AND application = NEW.application AND status = NEW.status;
                END;
                CREATE TRIGGER usage_day_totals_delete AFTER DELETE ON usage_day WHEN OLD.application <> '*' BEGIN
                    UPDATE usage_week_totals SET count = count - OLD.count
                    WHERE week = ((OLD.bucket / 86400 + 3) / 7 * 7 - 3) * 86400 AND application = OLD.application AND status = OLD.status;
                END;
                """,
            Postgres: WeekTotalsTable("BIGINT") + WeekTotalsBackfill + """
                CREATE FUNCTION usage_day_totals() RETURNS trigger LANGUAGE plpgsql AS $body$
                BEGIN
                    IF TG_OP = 'DELETE' THEN
                        IF OLD.application <> '*' THEN
                            UPDATE usage_week_totals SET count = count - OLD.count
                            WHERE week = ((OLD.bucket / 86400 + 3) / 7 * 7 - 3) * 86400 AND application = OLD.application AND status = OLD.status;
                        END IF;
                    ELSIF NEW.application <> '*' THEN
                        INSERT INTO usage_week_totals AS t (week, application, status, count)
                        VALUES (((NEW.bucket / 86400 + 3) / 7 * 7 - 3) * 86400, NEW.application, NEW.status,
                                NEW.count - CASE WHEN TG_OP = 'UPDATE' THEN OLD.count ELSE 0 END)
                        ON CONFLICT (week, application, status) DO UPDATE SET count = t.count + excluded.count;
                    END IF;
                    RETURN NULL;
                END
                $body$;
                CREATE TRIGGER usage_day_totals AFTER INSERT OR UPDATE OF count OR DELETE ON usage_day
                    FOR EACH ROW EXECUTE FUNCTION usage_day_totals();
                """),
        // The change log of one account or application, newest first (issue 18: the portal shows a consumer what happened to
        // their application; without it, each page view read the whole log). Version 12.
        new(
            12,
            Sqlite: "CREATE INDEX consumer_changes_name ON consumer_changes (kind, name, seq);",
            Postgres: "CREATE INDEX consumer_changes_name ON consumer_changes (kind, name, seq);"),
        // Sign-in attempts, counted in the store so that every control-plane node sees the same ones (issue 18: the 11th
        // attempt in a minute is refused, however many nodes serve the portal). Version 13.
        new(
            13,
            Sqlite: """
                CREATE TABLE login_attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, at_ms INTEGER NOT NULL);
                CREATE INDEX login_attempts_key ON login_attempts (key, at_ms);
                CREATE INDEX login_attempts_at ON login_attempts (at_ms);
                """,
            Postgres: """
                CREATE TABLE login_attempts (id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL, at_ms BIGINT NOT NULL);
                CREATE INDEX login_attempts_key ON login_attempts (key, at_ms);
                CREATE INDEX login_attempts_at ON login_attempts (at_ms);
                """),
        // Each counted attempt says when it may be deleted: the portal's mails are counted here too (an hour per recipient,
        // so that every control-plane node of one store sends an address the same 5 mails an hour), and the deletion of
        // other keys' old rows that each attempt makes must not take a mail's row at a sign-in's one minute. Version 14.
        new(
            14,
            Sqlite: """
                ALTER TABLE login_attempts ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0;
                UPDATE login_attempts SET expires_ms = at_ms + 60000;
                DROP INDEX login_attempts_at;
                CREATE INDEX login_attempts_expires ON login_attempts (expires_ms);
                """,
            Postgres: """
                ALTER TABLE login_attempts ADD COLUMN expires_ms BIGINT NOT NULL DEFAULT 0;
                UPDATE login_attempts SET expires_ms = at_ms + 60000;
                DROP INDEX login_attempts_at;
                CREATE INDEX login_attempts_expires ON login_attempts (expires_ms);
                """),
        // Rankings of applications one application at a time (issue 19): the applications that have ever had usage, with
        // the first and last week of it, kept by each usage write in its own transaction; and the week totals in
        // application order. A ranking then seeks each busy application's parts in the covering indexes instead of sorting
        // every row of its range (a dense store's top ten of 90 days: 257 ms). Filled from the rows already stored.
        // Version 15.
        new(15, Sqlite: UsageApplicationsTable, Postgres: UsageApplicationsTable),
        // Named admin API tokens with a scope (read or write) and an optional expiry, beside the one admin token: one per
        // pipeline or dashboard, each revoked on its own and named in the audit log. Version 16.
        new(
            16,
            Sqlite: """
                CREATE TABLE admin_tokens (
                    name TEXT PRIMARY KEY,
                    token_sha256 TEXT NOT NULL UNIQUE,
                    scope TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    expires_at TEXT NULL);
                """,
            Postgres: """
                CREATE TABLE admin_tokens (
                    name TEXT PRIMARY KEY,
                    token_sha256 TEXT NOT NULL UNIQUE,
                    scope TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL,
                    expires_at TIMESTAMPTZ NULL);
                """),
        // A link can carry what it is for beyond its purpose: a change of address keeps the new address here until the
        // link mailed to it is opened (and the row goes with the account, should it be deleted first). Version 17.
        new(17, Sqlite: "ALTER TABLE consumer_tokens ADD COLUMN detail TEXT NULL;", Postgres: "ALTER TABLE consumer_tokens ADD COLUMN detail TEXT NULL;"),
        // Two-step sign-in for console users: the authenticator's secret (protected), the last time step a code was
        // taken for, and the hashes of the unused recovery codes (space-separated). Version 18.
        new(
            18,
            Sqlite: """
                ALTER TABLE admin_users ADD COLUMN totp_secret TEXT NULL;
                ALTER TABLE admin_users ADD COLUMN totp_step INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE admin_users ADD COLUMN recovery_codes TEXT NULL;
                """,
            Postgres: """
                ALTER TABLE admin_users ADD COLUMN totp_secret TEXT NULL;
                ALTER TABLE admin_users ADD COLUMN totp_step BIGINT NOT NULL DEFAULT 0;
                ALTER TABLE admin_users ADD COLUMN recovery_codes TEXT NULL;
                """),
        // Two-step sign-in for portal accounts, in a table of its own (the gateway's followers read accounts, never
        // this): the protected secret, the last step taken, the unused recovery codes' hashes. Version 19.
        new(
            19,
            Sqlite: """
                CREATE TABLE account_two_step (
                    account TEXT PRIMARY KEY,
                    totp_secret TEXT NOT NULL,
                    totp_step INTEGER NOT NULL DEFAULT 0,
                    recovery_codes TEXT NOT NULL);
                """,
            Postgres: """
                CREATE TABLE account_two_step (
                    account TEXT PRIMARY KEY,
                    totp_secret TEXT NOT NULL,
                    totp_step BIGINT NOT NULL DEFAULT 0,
                    recovery_codes TEXT NOT NULL);
                """),
        // Single sign-on: the provider identity (issuer and subject, OpenID Connect's one stable identifier) each console
        // user (kind console-user) or portal account (kind account) is bound to at its first sign-in through the
        // provider; one identity may have a console user and a portal account. Version 20.
        new(20, Sqlite: SsoLinksTable, Postgres: SsoLinksTable),
        // Portal accounts' own API tokens (the portal's JSON API, for scripts and pipelines): only the SHA-256 of each, its
        // name (unique in the account), the shown prefix, a scope, an optional expiry and when it was last used (written at
        // most once an hour). Version 21.
        new(
            21,
            Sqlite: """
                CREATE TABLE portal_tokens (
                    token_sha256 TEXT PRIMARY KEY,
                    account TEXT NOT NULL,
                    name TEXT NOT NULL,
                    prefix TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    expires_at TEXT NULL,
                    last_used_at TEXT NULL);
                CREATE UNIQUE INDEX portal_tokens_name ON portal_tokens (account, name);
                """,
            Postgres: """
                CREATE TABLE portal_tokens (
                    token_sha256 TEXT PRIMARY KEY,
                    account TEXT NOT NULL,
                    name TEXT NOT NULL,
                    prefix TEXT NOT NULL,
                    scope TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL,
                    expires_at TIMESTAMPTZ NULL,
                    last_used_at TIMESTAMPTZ NULL);
                CREATE UNIQUE INDEX portal_tokens_name ON portal_tokens (account, name);
                """),
        // Reminders sent (keys and API tokens about to expire), one row each, so that of several control-plane nodes one
        // sends each reminder once; a row is forgotten once what it reminded of has expired. Version 22.
        new(
            22,
            Sqlite: "CREATE TABLE reminders (key TEXT PRIMARY KEY, forget_at TEXT NOT NULL);",
            Postgres: "CREATE TABLE reminders (key TEXT PRIMARY KEY, forget_at TIMESTAMPTZ NOT NULL);"),
        // How many times a console user's sessions were ended without a change of theirs (a single sign-on provider's
        // back-channel logout): part of their sessions' stamp, so counting one up ends them all. Version 23.
        new(
            23,
            Sqlite: "ALTER TABLE admin_users ADD COLUMN sessions_ended INTEGER NOT NULL DEFAULT 0;",
            Postgres: "ALTER TABLE admin_users ADD COLUMN sessions_ended BIGINT NOT NULL DEFAULT 0;"),
        // Portal applications' OAuth client ids (a JSON array on the application, for the nodes), and one row per client
        // id, so that no two applications hold one. Version 24.
        new(24, Sqlite: PortalClientIds, Postgres: PortalClientIds),
        // OAuth clients the portal registered for applications at the provider (RFC 7591), with what deletes them there
        // (RFC 7592); a row outlives its client id's binding until the provider has deleted the client. Version 25.
        new(
            25,
            Sqlite: "CREATE TABLE portal_oauth_clients (client_id TEXT PRIMARY KEY, application TEXT NOT NULL, issuer TEXT NOT NULL, management_uri TEXT, management_token TEXT, created_at TEXT NOT NULL);",
            Postgres: "CREATE TABLE portal_oauth_clients (client_id TEXT PRIMARY KEY, application TEXT NOT NULL, issuer TEXT NOT NULL, management_uri TEXT, management_token TEXT, created_at TIMESTAMPTZ NOT NULL);"),
        // The addresses a portal application's owner allows its credentials from (a JSON array; [] for any). Version 26.
        new(
            26,
            Sqlite: "ALTER TABLE consumer_applications ADD COLUMN allowed_addresses TEXT NOT NULL DEFAULT '[]';",
            Postgres: "ALTER TABLE consumer_applications ADD COLUMN allowed_addresses TEXT NOT NULL DEFAULT '[]';"),
        // The console's and the admin API's searches (issue 18: 100,000 accounts and applications): an application's title
        // folded to lower case in C# (ApplicationSearch.Fold; lower() here is a first pass, the code mends what it got
        // wrong), indexed for prefixes; the plan indexed; addresses within a state (the pending accounts whose address starts
        // so, in address order, without sorting every pending one); and in PostgreSQL the addresses indexed in byte order, which a
        // prefix range needs whatever the database's collation (SQLite's unique index on them already is). Version 27.
        new(
            27,
            Sqlite: """
                ALTER TABLE consumer_applications ADD COLUMN title_key TEXT NOT NULL DEFAULT '';
                UPDATE consumer_applications SET title_key = lower(title);
                CREATE INDEX consumer_applications_title ON consumer_applications (title_key, id);
                CREATE INDEX consumer_applications_plan ON consumer_applications (plan, id);
                CREATE INDEX consumer_accounts_state_email ON consumer_accounts (state, email);
                """,
            Postgres: """
                ALTER TABLE consumer_applications ADD COLUMN title_key TEXT NOT NULL DEFAULT '';
                UPDATE consumer_applications SET title_key = lower(title);
                CREATE INDEX consumer_applications_title ON consumer_applications ((title_key COLLATE "C"), id);
                CREATE INDEX consumer_applications_plan ON consumer_applications (plan, id);
                CREATE INDEX consumer_accounts_email_prefix ON consumer_accounts ((email COLLATE "C"));
                CREATE INDEX consumer_accounts_state_email ON consumer_accounts (state, (email COLLATE "C"));
                """,
            Code: SqlConfigStore.FoldTitlesAsync),
        // The process that holds a node id (a random id each start makes), so that a second process started with the same
        // --node-id is refused rather than overwriting the first one's usage rows, and what such a process noted when it
        // found the id taken (JSON: its host, pid and when; docs/nodes.md). Version 28.
        new(
            28,
            Sqlite: "ALTER TABLE nodes ADD COLUMN instance TEXT NULL; ALTER TABLE nodes ADD COLUMN clash TEXT NULL;",
            Postgres: "ALTER TABLE nodes ADD COLUMN instance TEXT NULL; ALTER TABLE nodes ADD COLUMN clash TEXT NULL;"),
        // The applications of a plan in a state, in id order (issue 18): with the plan's index alone both databases read
        // the plan's applications to the last one to find a state's few, over 50 ms a page (p95) at 100,000. Version 29.
        new(29, Sqlite: ApplicationsPlanStateIndex, Postgres: ApplicationsPlanStateIndex),
        // Purges of the gateway's memory caches, passed from the node that took them (an admin purge, an unsafe request's
        // invalidation) to every other node sharing the store, which drops the same answers (issue 23; docs/policies.md).
        // Kept an hour: a node that missed older ones drops its whole cache. Version 30.
        new(30, Sqlite: CachePurgesTable, Postgres: CachePurgesTable),
    ];

    // Migration 30: the same SQL for both databases (seq is given by the writer, under a lock, so readers see no gaps).
    private const string CachePurgesTable = """
        CREATE TABLE cache_purges (
            seq BIGINT PRIMARY KEY,
            at BIGINT NOT NULL,
            node TEXT NOT NULL,
            route TEXT NOT NULL,
            path TEXT NULL);
        CREATE INDEX cache_purges_at ON cache_purges (at);
        """;

    // Migration 29: the same SQL for both databases.
    private const string ApplicationsPlanStateIndex = "CREATE INDEX consumer_applications_plan_state ON consumer_applications (plan, state, id);";

    // Migration 24: the same SQL for both databases.
    private const string PortalClientIds = """
        ALTER TABLE consumer_applications ADD COLUMN client_ids TEXT NOT NULL DEFAULT '[]';
        CREATE TABLE portal_client_ids (client_id TEXT PRIMARY KEY, application TEXT NOT NULL);
        CREATE INDEX portal_client_ids_application ON portal_client_ids (application);
        """;

    // Migration 20's table: the same SQL for both databases.
    private const string SsoLinksTable = """
        CREATE TABLE sso_links (
            owner TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL);
        CREATE UNIQUE INDEX sso_links_identity ON sso_links (kind, issuer, subject);
        """;

    // Migration 15's table and indexes: the same SQL for both databases.
    private const string UsageApplicationsTable = """
        CREATE INDEX usage_week_totals_application ON usage_week_totals (application, week, status, count);
        CREATE TABLE usage_applications (application TEXT PRIMARY KEY, first_week BIGINT NOT NULL, last_week BIGINT NOT NULL);
        CREATE INDEX usage_applications_last_week ON usage_applications (last_week);

        """ + UsageApplicationsBackfill;

    /// <summary>
    /// Migration 15's fill of the applications with usage and the first and last week of it (also run by a test against
    /// rows written since), from the week totals: every application with minute or hour rows has day rows too (a flush
    /// writes the three in one transaction, and retention keeps no finer granularity longer than a coarser one), and the
    /// totals are a few rows per application and week, where reading the minute and hour rows took 46 s on a 4 GB store.
    /// </summary>
    internal const string UsageApplicationsBackfill = """
        INSERT INTO usage_applications (application, first_week, last_week)
            SELECT application, MIN(week), MAX(week) FROM usage_week_totals WHERE application <> '*' GROUP BY application;

        """;

    /// <summary>
    /// Migration 11's fill of the week totals from the day rows (also run by a test against rows written since). A week
    /// starts on Monday 00:00 UTC: day 0 of Unix time was a Thursday, so day d is in the week that starts on day
    /// (d + 3) / 7 * 7 - 3. The same expression is in the triggers and in <see cref="UsageWeeks"/>.
    /// </summary>
    internal const string WeekTotalsBackfill = """
        INSERT INTO usage_week_totals (week, application, status, count)
            SELECT ((bucket / 86400 + 3) / 7 * 7 - 3) * 86400, application, status, SUM(count)
            FROM usage_day WHERE application <> '*' GROUP BY ((bucket / 86400 + 3) / 7 * 7 - 3) * 86400, application, status;

        """;

    private static string WeekTotalsTable(string integer) => $$"""
        CREATE TABLE usage_week_totals (
            week {{integer}} NOT NULL,
            application TEXT NOT NULL,
            status INTEGER NOT NULL,
            count {{integer}} NOT NULL,
            PRIMARY KEY (week, application, status));

        """;

    public static int Latest => All[^1].Version;

    // Migration 10: the same SQL for both databases but the integer type.
    private static string AiUsageTables(string integer) => string.Concat(new[] { "minute", "hour", "day" }.Select(g => $$"""
        CREATE TABLE usage_ai_{{g}} (
            bucket {{integer}} NOT NULL,
            node TEXT NOT NULL,
            application TEXT NOT NULL,
            plan TEXT NOT NULL,
            alias TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            calls {{integer}} NOT NULL,
            prompt_tokens {{integer}} NOT NULL,
            completion_tokens {{integer}} NOT NULL,
            estimated_calls {{integer}} NOT NULL,
            cost_nanos {{integer}} NOT NULL,
            PRIMARY KEY (bucket, application, plan, alias, provider, model, node));
        CREATE INDEX usage_ai_{{g}}_application ON usage_ai_{{g}} (application, bucket);

        """));

    // Migration 9, the same SQL for both databases.
    private const string CoveringUsageIndexes = """
        DROP INDEX usage_minute_application;
        CREATE INDEX usage_minute_application ON usage_minute (application, bucket, status, count);
        DROP INDEX usage_hour_application;
        CREATE INDEX usage_hour_application ON usage_hour (application, bucket, status, count);
        DROP INDEX usage_day_application;
        CREATE INDEX usage_day_application ON usage_day (application, bucket, status, count);
        """;
}
