using System.Diagnostics;
using System.Text.Json;
using Notify.Testing;

namespace Notify.AppHost.Tests;

public sealed class ManifestTests
{
    [Fact]
    public async Task Manifest_describes_container_infrastructure_and_project_services_even_when_local_mode_is_forced()
    {
        var output = Path.Combine(Path.GetTempPath(), $"notify-manifest-{Guid.NewGuid():N}.json");
        // The AppHost was built with this test, in the same configuration (bin/<Configuration>/net10.0).
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var info = new ProcessStartInfo("dotnet",
            ["run", "--project", Path.Combine(RepositoryRoot.Path, "Notify.AppHost"), "-c", configuration, "--no-build", "--no-launch-profile",
             "--", "--publisher", "manifest", "--output-path", output])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["Notify__Infrastructure"] = "Local";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(process.ExitCode == 0, $"manifest command failed:\n{await stdout}\n{await stderr}");

        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        File.Delete(output);
        var resources = manifest.RootElement.GetProperty("resources").EnumerateObject()
            .ToDictionary(r => r.Name, r => r.Value.GetProperty("type").GetString());

        Assert.StartsWith("container.", resources["postgres"], StringComparison.Ordinal);
        Assert.StartsWith("container.", resources["redis"], StringComparison.Ordinal);
        Assert.StartsWith("container.", resources["rabbitmq"], StringComparison.Ordinal);
        Assert.StartsWith("container.", resources["smtp"], StringComparison.Ordinal);
        Assert.Equal("value.v0", resources["notify"]);
        Assert.StartsWith("project.", resources["api"], StringComparison.Ordinal);
        Assert.StartsWith("project.", resources["worker"], StringComparison.Ordinal);
        Assert.StartsWith("project.", resources["migrations"], StringComparison.Ordinal);
        Assert.DoesNotContain(resources.Values, type => type!.StartsWith("executable.", StringComparison.Ordinal));
    }
}
