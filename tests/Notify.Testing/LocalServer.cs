using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Notify.Testing;

/// <summary>
/// One real server process started from <c>eng/local/&lt;name&gt;.sh</c>, the same script the AppHost runs
/// in local mode. The script execs the server, so the process we hold is the server itself.
/// </summary>
public sealed partial class LocalServer : IAsyncDisposable
{
    private const int SigInt = 2;
    private const int SigTerm = 15;

    private readonly string _script;
    private readonly Dictionary<string, string> _environment;
    private readonly int _stopSignal;
    private readonly StringBuilder _output = new();
    private Process? _process;

    public LocalServer(string name, IReadOnlyDictionary<string, string> environment, bool fastStopWithSigInt = false)
    {
        Name = name;
        _script = Path.Combine(RepositoryRoot.Path, "eng", "local", $"{name}.sh");
        _environment = new Dictionary<string, string>(environment);
        _stopSignal = fastStopWithSigInt ? SigInt : SigTerm;
    }

    public string Name { get; }

    /// <summary>What the server printed so far; shown when it fails to come up.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public void Start()
    {
        var info = new ProcessStartInfo("bash", [_script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in _environment)
        {
            info.Environment[key] = value;
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {_script}.");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Polls <paramref name="probe"/> until it succeeds; fails with the server's output if it exits or times out.</summary>
    public async Task WaitUntilReadyAsync(Func<CancellationToken, Task> probe, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        Exception? last = null;
        while (!cts.IsCancellationRequested)
        {
            if (_process is { HasExited: true })
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}:\n{Output}");
            }

            try
            {
                await probe(cts.Token);
                return;
            }
            catch (Exception ex)
            {
                last = ex;
            }

            try
            {
                await Task.Delay(100, cts.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        throw new TimeoutException($"{Name} was not ready after {timeout}: {last?.Message}\n{Output}");
    }

    /// <summary>Stops the server with its clean-shutdown signal and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        _ = Kill(_process.Id, _stopSignal);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
