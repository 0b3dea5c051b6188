using System.CommandLine;
using Gatehouse.Model.Access;

namespace Gatehouse.Cli.Commands;

/// <summary><c>gatehouse key new</c>: a fresh API key (or service token) and the hash that config keeps of it.</summary>
internal static class KeyCommand
{
    public static Command Create()
    {
        var prefix = new Option<string>("--prefix") { Description = $"The key's recognisable prefix (default {ApiKeyHash.KeyPrefix}; service tokens use ghs_).", DefaultValueFactory = _ => ApiKeyHash.KeyPrefix };
        var @new = new Command("new", "Make a new random key: prints the key once, and the sha256 to put in config.") { prefix };
        @new.SetAction(parse =>
        {
            var p = parse.GetValue(prefix)!;
            if (p.Length > 16 || !p.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                Console.Error.WriteLine("--prefix must be at most 16 letters, digits or '_', e.g. ghk_.");
                return 2;
            }

            var key = ApiKeyHash.NewKey(p);
            Console.Out.WriteLine($"key:    {key}");
            Console.Out.WriteLine($"sha256: {ApiKeyHash.Sha256Hex(key)}");
            Console.Out.WriteLine($"prefix: {ApiKeyHash.DisplayPrefix(key)}");
            Console.Error.WriteLine("The key is shown only now: give it to its owner. Config keeps only the sha256 (keys: [ { sha256: ..., prefix: ... } ]).");
            return 0;
        });

        return new Command("key", "API keys and service tokens.") { @new };
    }
}
