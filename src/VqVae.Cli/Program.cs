// The `vqvae` command's process entry point; everything else lives in CliApp so tests can call it in-process.
return VqVae.Cli.CliApp.Run(args);
