using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Preferences;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Preferences.Domain;
using Notify.Modules.Preferences.Features;
using Notify.Modules.Preferences.Features.Recipients;
using Notify.Testing;

// Preference resolutions per second from the cache, single-threaded: IRecipientPreferences.PlanAsync as Delivery
// calls it, in a module host against real PostgreSQL and Redis (started from the machine's packages), over 1,000
// recipients with channel switches, category settings, quiet hours in their own time zones and a digest default,
// four candidate channels each. Arguments: [runs (default 5)] [resolutions per run (default 500000)].
var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
var resolutions = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 500_000;
const int Recipients = 1_000;
string[] zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "America/Sao_Paulo", "UTC"];

var infrastructure = new Infrastructure();
await infrastructure.InitializeAsync();
try
{
    var database = await infrastructure.CreateDatabaseAsync("bench");
    using var host = await infrastructure.StartModuleHostAsync(database, HostRole.Worker, new PreferencesModule());
    var tenant = Guid.CreateVersion7();
    await using (var scope = host.Services.CreateAsyncScope())
    {
        var store = scope.ServiceProvider.GetRequiredService<RecipientStore>();
        await store.ReplaceDefaultsAsync(tenant, new TenantDefaults(new Dictionary<string, CategoryDefaults>
            {
                ["marketing"] = new("Product news", new Dictionary<string, PreferenceSetting> { ["sms"] = PreferenceSetting.Forbid }),
                ["comments"] = new("Comments", Digest: new DigestSetting("daily", "09:00")),
            }), default);
        await store.UpsertProfilesAsync(tenant, Enumerable.Range(0, Recipients)
            .Select(i => ($"user-{i}", new RecipientProfileFields($"user{i}@example.com", "+1415555" + i.ToString("D4", CultureInfo.InvariantCulture), "en", zones[i % zones.Length])))
            .ToList(), default);
        for (var i = 0; i < Recipients; i += 2)
        {
            await store.ChangeAsync(tenant, $"user-{i}", create: false, r => r.Preferences = new UserPreferences(
                Channels: new Dictionary<string, PreferenceSetting> { ["push"] = PreferenceSetting.Forbid },
                Categories: new Dictionary<string, IReadOnlyDictionary<string, PreferenceSetting>>
                {
                    ["marketing"] = new Dictionary<string, PreferenceSetting> { ["email"] = PreferenceSetting.Allow },
                },
                QuietHours: new TimeWindow("22:00", "07:00")), default);
        }
    }

    var preferences = host.Services.GetRequiredService<IRecipientPreferences>();
    string[] categories = ["marketing", "comments", "transactional"];
    var requests = Enumerable.Range(0, Recipients).Select(i => new PlanRequest(
        tenant, $"user-{i}", categories[i % categories.Length], NotificationPriority.Normal, ["email", "sms", "push", "in_app"])).ToArray();

    // Warm the cache (one database read per recipient) and the JIT.
    foreach (var request in requests)
    {
        _ = await preferences.PlanAsync(request, default) ?? throw new InvalidOperationException($"{request.UserId} is missing");
    }

    var warmUp = Stopwatch.StartNew();
    for (var i = 0; warmUp.Elapsed < TimeSpan.FromSeconds(2); i++)
    {
        await preferences.PlanAsync(requests[i % Recipients], default);
    }

    var sample = await preferences.PlanAsync(requests[0], default);
    Console.WriteLine($"sample ({sample!.UserId}, {requests[0].Category}, {sample.TimeZone}): "
        + string.Join("; ", sample.Channels.Select(c => $"{c.Channel} {c.Reason}{(c.DeliverAt is { } at ? $" at {at:u}" : "")}{(c.Digest is { } d ? $" digest {d.Frequency} {d.NextAt:u}" : "")}")));
    Console.WriteLine($"{runs} runs of {resolutions:N0} resolutions over {Recipients:N0} cached recipients, 4 channels each; "
        + $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}");

    var rates = new List<double>(runs);
    for (var run = 0; run < runs; run++)
    {
        GC.Collect();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < resolutions; i++)
        {
            await preferences.PlanAsync(requests[i % Recipients], default);
        }

        rates.Add(resolutions / clock.Elapsed.TotalSeconds);
    }

    var median = rates.Order().ElementAt(rates.Count / 2);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"PlanAsync from cache, single-threaded: median {median:N0} resolutions/s ({string.Join(", ", rates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))})"));
    return 0;
}
finally
{
    await infrastructure.DisposeAsync();
}
