using Npgsql;

namespace Gatehouse.Management.Stores;

/// <summary>Turns <c>postgres://user:password@host:port/database?sslmode=require</c> into Npgsql's connection string.</summary>
internal static class PostgresUrl
{
    public static NpgsqlConnectionStringBuilder Parse(string url, string help)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ConfigStoreException("The store connection is not a valid PostgreSQL URL. " + help);
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port,
        };
        var database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            try
            {
                // libpq spells options with underscores (sslmode, application_name); Npgsql with spaces.
                builder[key.Equals("sslmode", StringComparison.OrdinalIgnoreCase) ? "SSL Mode" : key.Replace('_', ' ')] = value;
            }
            catch (ArgumentException e)
            {
                throw new ConfigStoreException($"The PostgreSQL URL has an option Npgsql does not know, '{key}' ({e.Message}). " + help, e);
            }
        }

        return builder;
    }
}
