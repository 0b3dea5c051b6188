using System.CommandLine;
using Gatehouse.Cli.Commands;

var root = new RootCommand("Gatehouse: an API gateway and API management platform for microservices.");
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(ImportOpenApiCommand.Create());
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
