using System.Data.Common;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.Connections;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// What the <c>gatehouse</c> command prints when a command fails on an ordinary mistake (a port taken, a file it cannot
/// read, a store it cannot reach, a certificate that does not load): one plain line that says what and what to do,
/// never a stack trace. Program.cs turns every exception a command lets out into this line and exit code 1.
/// </summary>
internal static partial class CliErrors
{
    /// <summary>The line for <paramref name="e"/>.</summary>
    public static string OneLine(Exception e)
    {
        if (Find<AddressInUseException>(e) is not null || Find<SocketException>(e) is { SocketErrorCode: SocketError.AddressAlreadyInUse })
        {
            var address = BindAddress().Match(e.Message) is { Success: true } m ? m.Groups[1].Value : "an address it needs";
            return $"Cannot listen on {address}: the address is already in use. Stop what uses it (another gatehouse?), or choose another port: --port for the gateway, --admin-url for the admin API, --portal-url for the portal (or --no-portal), or gateway.listeners / gateway.serviceApi.url in the config (port 0 picks a free one).";
        }

        if (e is IOException { Message: var bind } && bind.StartsWith("Failed to bind", StringComparison.Ordinal))
        {
            return $"{Flat(bind)} Check the listener addresses (gateway.listeners, --port, --admin-url): an address must be one of this machine's.";
        }

        if (Find<ConfigStoreException>(e) is { } store)
        {
            return Flat(store.Message);
        }

        if (Find<DbException>(e) is not null)
        {
            return $"The configuration store did not answer: {StoreHealth.Reason(e)}. Check that it runs and that the address in --store is right.";
        }

        if (Find<CryptographicException>(e) is { } crypto)
        {
            return $"Cannot load a certificate or its key: {Flat(crypto.Message).TrimEnd('.')}. Check the PEM files named in gateway.listeners[].certificate (certFile, keyFile) and that the key matches the certificate.";
        }

        // A file whose content is not what it must be (a client CA or revocation list file): the message names it and says what to write.
        if (Find<InvalidDataException>(e) is { } content)
        {
            return Flat(content.Message);
        }

        if (Find<UnauthorizedAccessException>(e) is { } denied)
        {
            return $"{Flat(denied.Message)} Check the file's permissions, or run as a user who may read it.";
        }

        if (Find<FileNotFoundException>(e) is { } missing)
        {
            return $"{Flat(missing.Message)} Check the path.";
        }

        if (Find<DirectoryNotFoundException>(e) is { } folder)
        {
            return $"{Flat(folder.Message)} Check the path.";
        }

        // Gatehouse's own refusals of an option's value (a URL, an address) say what to change in their message.
        if (e is ArgumentException argument)
        {
            return Flat(argument.ParamName is { } name ? argument.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : argument.Message);
        }

        return $"{Flat(e.Message)} ({e.GetType().Name}; run with DOTNET_ENVIRONMENT=Development for nothing more: this is all Gatehouse knows. Please report it if it is not your setup.)";
    }

    private static T? Find<T>(Exception e)
        where T : Exception
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is T found)
            {
                return found;
            }

            if (x is AggregateException { InnerExceptions: [var only] })
            {
                return Find<T>(only);
            }
        }

        return null;
    }

    private static string Flat(string text) => text.ReplaceLineEndings(" ").Trim();

    [GeneratedRegex(@"bind to address (\S+?):? address already in use", RegexOptions.IgnoreCase)]
    private static partial Regex BindAddress();
}
