using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Gatehouse.Bench.HybridKeys;

/// <summary>One real <c>gatehouse</c> process (<c>dotnet gatehouse.dll …</c>), its output kept to find its addresses.</summary>
internal sealed class Child : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _lock = new();
    private readonly string _name;

    private Child(string name, Process process)
    {
        (_name, _process) = (name, process);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // Ctrl+C or an exception leaves no gatehouse behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Kill();
    }

    public static Child Start(string name, string dll, string directory, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        return new Child(name, Process.Start(start)!);
    }

    /// <summary>Waits for a line of output matching <paramref name="pattern"/>; its match.</summary>
    public async Task<Match> WaitForAsync(Regex pattern, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            string text;
            lock (_lock)
            {
                text = _output.ToString();
            }

            if (pattern.Match(text) is { Success: true } match)
            {
                return match;
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{_name} exited with code {_process.ExitCode} before it said it was ready:\n{text}");
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{_name} did not say it was ready within {timeout.TotalSeconds:F0} s; its output:\n{Output}");
    }

    public string Output
    {
        get
        {
            lock (_lock)
            {
                return _output.ToString();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _output.AppendLine(line);
        }
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
