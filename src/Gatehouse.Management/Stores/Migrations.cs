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
        // Usage rollups (issue 19): one table per granularity, one row per node, bucket and (application, plan, operation,
        // status); application '*' rows add up every application. Histograms are LatencyHistogram's compact bytes.
        new(
            2,
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
    ];

    public static int Latest => All[^1].Version;
}
