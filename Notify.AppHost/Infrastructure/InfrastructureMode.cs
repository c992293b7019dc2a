using System.Diagnostics;

namespace Notify.AppHost.Infrastructure;

/// <summary>How the AppHost gets PostgreSQL, Redis, RabbitMQ and the SMTP sink.</summary>
public enum InfrastructureMode
{
    /// <summary>Containers when a container runtime answers, else local executables.</summary>
    Auto,

    /// <summary>The standard Aspire container integrations (and what publish mode always emits).</summary>
    Containers,

    /// <summary>The machine's own server binaries, run as executables (no container runtime needed).</summary>
    Local,
}

internal static class InfrastructureModeSelector
{
    /// <summary>Configuration key (environment variable <c>Notify__Infrastructure</c>).</summary>
    public const string ConfigurationKey = "Notify:Infrastructure";

    /// <summary>
    /// Decides the mode. Publishing always describes containers, whatever this machine has; otherwise an
    /// explicit setting wins; otherwise a container runtime that answers means containers.
    /// </summary>
    public static InfrastructureMode Select(string? configured, bool isPublishMode, Func<bool> containerRuntimeAnswers)
    {
        if (isPublishMode)
        {
            return InfrastructureMode.Containers;
        }

        var mode = InfrastructureMode.Auto;
        if (!string.IsNullOrWhiteSpace(configured) && (!Enum.TryParse(configured, ignoreCase: true, out mode) || !Enum.IsDefined(mode)))
        {
            throw new InvalidOperationException(
                $"{ConfigurationKey} is '{configured}'; use one of: {string.Join(", ", Enum.GetNames<InfrastructureMode>())}.");
        }

        return mode switch
        {
            InfrastructureMode.Auto => containerRuntimeAnswers() ? InfrastructureMode.Containers : InfrastructureMode.Local,
            _ => mode,
        };
    }

    /// <summary>
    /// True if the container runtime Aspire would use (ASPIRE_CONTAINER_RUNTIME, default docker) has a
    /// daemon that answers. A CLI without a daemon fails within milliseconds.
    /// </summary>
    public static bool ContainerRuntimeAnswers()
    {
        var runtime = Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME") ?? "docker";
        try
        {
            using var process = Process.Start(new ProcessStartInfo(runtime, ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return false;
            }

            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }

            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no such CLI on the PATH
        }
    }
}
