using Notify.AppHost.Infrastructure;

namespace Notify.AppHost.Tests;

public sealed class InfrastructureModeTests
{
    [Theory]
    [InlineData(null, true, InfrastructureMode.Containers)]
    [InlineData(null, false, InfrastructureMode.Local)]
    [InlineData("auto", true, InfrastructureMode.Containers)]
    [InlineData("Auto", false, InfrastructureMode.Local)]
    public void Auto_picks_containers_only_when_a_runtime_answers(string? configured, bool runtimeAnswers, InfrastructureMode expected) =>
        Assert.Equal(expected, InfrastructureModeSelector.Select(configured, isPublishMode: false, () => runtimeAnswers));

    [Theory]
    [InlineData("Local", true, InfrastructureMode.Local)]
    [InlineData("local", true, InfrastructureMode.Local)]
    [InlineData("Containers", false, InfrastructureMode.Containers)]
    public void Configuration_forces_a_mode_whatever_the_machine_has(string configured, bool runtimeAnswers, InfrastructureMode expected)
    {
        var probed = false;
        Assert.Equal(expected, InfrastructureModeSelector.Select(configured, isPublishMode: false, () => probed = runtimeAnswers));
        Assert.False(probed, "a forced mode must not probe for a container runtime");
    }

    [Fact]
    public void Publish_mode_always_describes_containers() =>
        Assert.Equal(InfrastructureMode.Containers, InfrastructureModeSelector.Select("Local", isPublishMode: true, () => false));

    [Fact]
    public void Unknown_mode_is_a_clear_error()
    {
        var error = Assert.Throws<InvalidOperationException>(() => InfrastructureModeSelector.Select("kubernetes", false, () => false));
        Assert.Contains("Notify:Infrastructure", error.Message, StringComparison.Ordinal);
        Assert.Contains("Containers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Container_runtime_probe_matches_whether_a_daemon_answers()
    {
        // On this kind of machine the docker CLI exists without a daemon; the probe must say so quickly.
        var started = System.Diagnostics.Stopwatch.StartNew();
        var answers = InfrastructureModeSelector.ContainerRuntimeAnswers();
        using var docker = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("bash", ["-c", "docker info >/dev/null 2>&1"]))!;
        docker.WaitForExit();
        Assert.Equal(docker.ExitCode == 0, answers);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(15));
    }
}
