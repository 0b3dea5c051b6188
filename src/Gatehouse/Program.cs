using System.CommandLine;
using Gatehouse.Cli;
using Gatehouse.Cli.Commands;

// First of all, while nothing else has started: run and demo restart themselves once with a larger gen0 budget for the
// garbage collector (Gen0Budget says why and how; GATEHOUSE_GC_GEN0=0 or an explicit DOTNET_GCgen0size turns it off).
Gen0Budget.Apply(args);

// Socket completions run inline on the runtime's epoll threads, and Kestrel schedules requests there too
// (GatewayHost follows this variable), so a request goes from receive to send without a thread hop. This
// is what brings plain proxying to nginx's level on the same box (docs/benchmarks.md). It is safe only
// because nothing on the data plane's request path blocks (src/Gatehouse.Gateway/README.md). The runtime
// reads the variable on first socket use, so it must be set before anything opens a socket.
// GATEHOUSE_INLINE_IO=0 turns it off; an explicit DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS wins.
if (OperatingSystem.IsLinux()
    && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null
    && Environment.GetEnvironmentVariable("GATEHOUSE_INLINE_IO") != "0")
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

if (LogFormat.Problem() is { } logFormat)
{
    Console.Error.WriteLine(logFormat);
    return 2;
}

var root = new RootCommand("Gatehouse: an API gateway and API management platform for microservices.");
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(ImportOpenApiCommand.Create());
root.Subcommands.Add(KeyCommand.Create());
root.Subcommands.Add(ApplyCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(SchemaCommand.Create());
root.Subcommands.Add(PruneCommand.Create());
// Every command's failure on an ordinary mistake (a port taken, a file it cannot read, a store it cannot reach, a
// certificate that does not load) is one plain line and exit code 1, never a stack trace (CliErrors).
try
{
    // ProcessTerminationTimeout null: SIGTERM and Ctrl+C are left to the gateway host, which drains (readiness 503,
    // drainDelay, then up to drainTimeout for requests in flight) and then returns 0; System.CommandLine's own handling
    // would end the process 2 s after the signal, cutting the drain short (issue 20).
    return await root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }).ConfigureAwait(false);
}
catch (OperationCanceledException)
{
    // Ctrl+C while starting.
    return 130;
}
catch (Exception e)
{
    Console.Error.WriteLine("gatehouse: " + CliErrors.OneLine(e));
    return 1;
}
