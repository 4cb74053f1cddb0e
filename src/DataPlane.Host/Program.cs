using DataPlane.Host.Cli;

return await Commands.RunAsync(args).ConfigureAwait(false);
