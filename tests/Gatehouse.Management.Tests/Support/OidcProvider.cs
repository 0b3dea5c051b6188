using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Tests.Mcp;

namespace Gatehouse.Tests.Support;

/// <summary>
/// A real OpenID Connect provider in a child process: panva's <c>oidc-provider</c> (OpenID Certified), run by
/// tests/tools/oidc-idp.mjs on a loopback port, with its own development sign-in and consent pages. Pick the port first
/// (<see cref="Issuer"/> is known before it starts, so a console can be configured with it), then start it with the
/// console's redirect URI.
/// </summary>
internal sealed class OidcProvider : IAsyncDisposable
{
    public const string ClientId = "gatehouse-console";
    public const string ClientSecret = "a test client secret for the console";

    private readonly Process _process;
    private readonly string _accounts;

    private OidcProvider(Process process, string accounts) => (_process, _accounts) = (process, accounts);

    public static int PickPort() => Gatehouse.Gateway.Tests.Infrastructure.FreePorts.Tcp();

    public static string Issuer(int port) => $"http://127.0.0.1:{port}";

    /// <summary>
    /// Starts the provider; <paramref name="accounts"/> maps each login to the claims it releases. They are kept in a
    /// file the provider reads at every look-up, so that <see cref="SetAccounts"/> can change them while it runs.
    /// </summary>
    /// <param name="endSession">False: the provider offers no RP-initiated logout (no end_session_endpoint), as some do not.</param>
    /// <param name="environment">More of the tool's variables (<c>OIDC_REGISTRATION</c>, say).</param>
    public static async Task<OidcProvider> StartAsync(int port, string redirectUri, IReadOnlyDictionary<string, object> accounts, bool endSession = true,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var file = Path.Combine(Path.GetTempPath(), $"gatehouse-oidc-accounts-{port}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(accounts));
        NodeTools.Require("oidc-provider");
        var start = new ProcessStartInfo(NodeTools.Node())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = NodeTools.ToolsDirectory,
            StandardOutputEncoding = Encoding.UTF8,
        };
        if (!endSession)
        {
            start.Environment["OIDC_NO_END_SESSION"] = "1";
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (var argument in (string[])["oidc-idp.mjs", port.ToString(System.Globalization.CultureInfo.InvariantCulture), ClientId, ClientSecret, redirectUri, "@" + file])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line != "ready " + Issuer(port))
            {
                throw new InvalidOperationException($"the OpenID provider did not start: {line}\n{errors}");
            }
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            File.Delete(file);
            throw;
        }

        return new OidcProvider(process, file);
    }

    /// <summary>Replaces the accounts' claims (the next sign-in at the provider reads them).</summary>
    public void SetAccounts(IReadOnlyDictionary<string, object> accounts) => File.WriteAllText(_accounts, JsonSerializer.Serialize(accounts));

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close(); // the tool stops when its stdin ends
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
        File.Delete(_accounts);
    }
}
