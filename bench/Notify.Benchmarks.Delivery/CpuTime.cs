using System.Globalization;

namespace Notify.Benchmarks.Delivery;

/// <summary>
/// CPU time used so far by each kind of process on the machine (from <c>/proc</c>), read before and after a phase so a
/// delivered figure comes with what it cost each process: the API, the Worker, PostgreSQL, RabbitMQ, Redis, this benchmark.
/// </summary>
internal sealed record CpuTime(IReadOnlyDictionary<string, double> Seconds)
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    private static readonly (string Name, string Marker)[] Kinds =
    [
        ("api", "Notify.Api"), ("worker", "Notify.Worker"), ("postgres", "postgres"), ("rabbitmq", "beam.smp"), ("redis", "redis-server"),
        ("bench", "Notify.Benchmarks.Delivery"),
    ];

    public static CpuTime Read()
    {
        var seconds = Kinds.ToDictionary(k => k.Name, _ => 0.0);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
            {
                continue;
            }

            try
            {
                var command = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var kind = Kinds.FirstOrDefault(k => command.Contains(k.Marker, StringComparison.Ordinal)).Name;
                if (kind is null)
                {
                    continue;
                }

                // Fields after the command's closing parenthesis: utime, stime, cutime and cstime are the 12th to 15th. The
                // last two hold what the process's ended children used: PostgreSQL's autovacuum workers and connections that
                // come and go within a phase would not be counted otherwise.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                seconds[kind] += fields[11..15].Sum(f => long.Parse(f, CultureInfo.InvariantCulture)) / TicksPerSecond;
            }
            catch (IOException)
            {
                // The process ended meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return new CpuTime(seconds);
    }

    /// <summary>CPU milliseconds per item for each kind of process since <paramref name="before"/>, and their sum.</summary>
    public string Since(CpuTime before, long items) => string.Create(CultureInfo.InvariantCulture,
        $"CPU ms per item: {string.Join(", ", Seconds.Select(s => $"{s.Key} {(s.Value - before.Seconds[s.Key]) * 1000 / Math.Max(1, items):N3}"))}, "
        + $"total {(Seconds.Values.Sum() - before.Seconds.Values.Sum()) * 1000 / Math.Max(1, items):N3}");
}
