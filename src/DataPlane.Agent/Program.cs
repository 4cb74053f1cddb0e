using DataPlane.Agent;

return await AgentCommands.RunAsync(args).ConfigureAwait(false);
