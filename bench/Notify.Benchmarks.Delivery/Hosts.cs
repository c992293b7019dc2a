using System.Diagnostics;
using Notify.Testing;

namespace Notify.Benchmarks.Delivery;

/// <summary>The API, Worker and migration step as Release processes (<c>dotnet &lt;dll&gt;</c>), configured by environment variables as the AppHost does.</summary>
internal sealed class Hosts : IAsyncDisposable
{
    private readonly Dictionary<string, Process> _running = [];
    private readonly string _logs = Path.Combine(Environment.GetEnvironmentVariable("NOTIFY_TEST_DATA") ?? Path.GetTempPath(), "logs");

    public void Start(string project, IReadOnlyDictionary<string, string> env, string url)
    {
        var process = Launch(project, env, url);
        _running[project] = process;
    }

    public async Task RunToCompletionAsync(string project, IReadOnlyDictionary<string, string> env)
    {
        using var process = Launch(project, env, null);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{project} exited with {process.ExitCode}; see {_logs}/{project}.log");
        }
    }

    public async Task StopAsync(string project)
    {
        if (!_running.Remove(project, out var process))
        {
            return;
        }

        if (!process.HasExited)
        {
            // SIGTERM: the host stops its background services (consumers, senders) cleanly.
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        process.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var project in _running.Keys.ToList())
        {
            await StopAsync(project);
        }
    }

    private Process Launch(string project, IReadOnlyDictionary<string, string> env, string? url)
    {
        var dll = Path.Combine(RepositoryRoot.Path, project, "bin", "Release", "net10.0", project + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"Build {project} in Release first (bench/delivery.sh does).", dll);
        }

        Directory.CreateDirectory(_logs);
        // The run's folder on the command line (an unused configuration key) lets bench/delivery.sh's clean-up find a host left behind.
        var info = new ProcessStartInfo("dotnet", [dll, "--notify-bench-run=" + Path.GetDirectoryName(_logs)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (var (key, value) in env)
        {
            info.Environment[key] = value;
        }

        if (url is not null)
        {
            info.Environment["ASPNETCORE_URLS"] = url;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {dll}.");
        var log = new StreamWriter(Path.Combine(_logs, project + ".log"), append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }
}
