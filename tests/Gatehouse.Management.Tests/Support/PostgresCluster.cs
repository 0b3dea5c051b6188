using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Gatehouse.Management.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL cluster for the whole test run: initdb into a temp folder, start on a free
/// loopback port, one fresh database per test, stopped and deleted at the end. PostgreSQL refuses to
/// run as root, so as root (test.sh in CI) every server command runs as the <c>postgres</c> OS user.
/// Missing binaries fail the tests: a skipped PostgreSQL test would hide that nothing was tested.
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    private string _root = "";
    private string _bin = "";
    private int _port;

    public async Task InitializeAsync()
    {
        _bin = FindBinaries() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin. " +
            "Install them with 'apt-get install postgresql' (./test.sh does this) and run the tests again.");
        _root = Path.Combine(Path.GetTempPath(), "gatehouse-pg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(_root);
        if (Environment.IsPrivilegedProcess)
        {
            await RunAsync("chown", false, "postgres:postgres", _root);
        }

        var data = Path.Combine(_root, "data");
        // --no-sync and -F (fsync off): the cluster is thrown away, durability of the OS cache is not under test.
        await RunAsync(Path.Combine(_bin, "initdb"), true, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync");
        for (var attempt = 1; ; attempt++)
        {
            _port = FreePort();
            try
            {
                await RunAsync(
                    Path.Combine(_bin, "pg_ctl"),
                    true,
                    "-D", data,
                    "-l", Path.Combine(_root, "server.log"),
                    "-o", $"-p {_port} -k {_root} -c listen_addresses=127.0.0.1 -F",
                    "-w", "start");
                break;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Another process took the port between FreePort and start: pick another.
            }
        }
    }

    /// <summary>Stops the server (fast shutdown: open connections are closed), as an outage of the store.</summary>
    public Task StopAsync() =>
        RunAsync(Path.Combine(_bin, "pg_ctl"), true, "-D", Path.Combine(_root, "data"), "-m", "fast", "-w", "stop");

    /// <summary>Starts the server again on the same port after <see cref="StopAsync"/>; pooled connections (now dead) are dropped.</summary>
    public async Task StartAsync()
    {
        await RunAsync(
            Path.Combine(_bin, "pg_ctl"),
            true,
            "-D", Path.Combine(_root, "data"),
            "-l", Path.Combine(_root, "server.log"),
            "-o", $"-p {_port} -k {_root} -c listen_addresses=127.0.0.1 -F",
            "-w", "start");
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>
    /// Creates an empty database and returns a connection string for it; <paramref name="options"/> are CREATE DATABASE's
    /// (a test's constant, such as another locale than the cluster's C).
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string options = "")
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        // A database name cannot be a parameter; this one is ours (a GUID), not input.
        command.CommandText = $"CREATE DATABASE \"{name}\" {options}";
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={_port};Username=postgres;Database={database}";

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_root.Length == 0 || !Directory.Exists(_root))
        {
            return;
        }

        try
        {
            await RunAsync(Path.Combine(_bin, "pg_ctl"), true, "-D", Path.Combine(_root, "data"), "-m", "immediate", "-w", "stop");
        }
        finally
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static string? FindBinaries() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(version => Path.Combine(version, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")))
                .OrderByDescending(bin => bin, StringComparer.Ordinal)
                .FirstOrDefault()
            : null;

    private static int FreePort() => Gatehouse.Gateway.Tests.Infrastructure.FreePorts.Tcp();

    private async Task RunAsync(string program, bool asPostgres, params string[] arguments)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asPostgres && Environment.IsPrivilegedProcess)
        {
            start.FileName = "runuser";
            foreach (var argument in (string[])["-u", "postgres", "--", program])
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            start.FileName = program;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            var log = Path.Combine(_root, "server.log");
            throw new InvalidOperationException(
                $"{Path.GetFileName(program)} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await output}{await error}" +
                (File.Exists(log) ? "\nserver.log:\n" + await File.ReadAllTextAsync(log) : ""));
        }
    }
}
