using System.Text.Json;
using FastEndpoints;
using FluentValidation;
using Microsoft.EntityFrameworkCore;
using Notify.Modules.Abstractions;
using Notify.Modules.Abstractions.Http;
using Notify.Modules.Abstractions.Tenancy;
using Notify.Modules.Access.Contracts;
using Notify.Modules.Delivery.Data;
using Notify.Modules.Delivery.Providers;
using Npgsql;

namespace Notify.Modules.Delivery.Features.Providers;

/// <summary>A provider account to create. Credentials are write-only: stored encrypted, never returned.</summary>
public sealed record CreateProviderRequest
{
    /// <summary>email (instead of the deployment's SMTP server), sms, push or webhook.</summary>
    public string Channel { get; init; } = "";

    /// <summary>sendgrid (email), twilio or http_sms (sms), fcm or webpush (push), webhook (webhook), sink (any: records instead of sending).</summary>
    public string Kind { get; init; } = "";

    public string Name { get; init; } = "";

    /// <summary>Lower goes first; the next is tried when one fails or its circuit is open.</summary>
    public int Priority { get; init; }

    public bool Enabled { get; init; } = true;

    public int? RatePerSecond { get; init; }

    public int? RatePerMinute { get; init; }

    public int TimeoutMs { get; init; } = 10_000;

    public decimal? CostPerMessage { get; init; }

    /// <summary>Calls (half of them failing, within 30 s) that open the circuit.</summary>
    public int BreakerFailures { get; init; } = 5;

    /// <summary>How long an open circuit stays open before a trial call.</summary>
    public int BreakSeconds { get; init; } = 30;

    /// <summary>The adapter's settings: twilio {baseUrl?, from | messagingServiceSid, statusCallback?}; http_sms {url, method?, body?, messageIdField?}.</summary>
    public JsonElement? Settings { get; init; }

    /// <summary>sendgrid {apiKey, eventWebhookKey (to verify its signed Event Webhook)}; twilio {accountSid, authToken}; fcm {serviceAccount: the key's JSON}; webpush {vapidPublicKey, vapidPrivateKey}; webhook {secret}; http_sms {"header:Name": value …}; any {receiptSecret} to sign receipts.</summary>
    public Dictionary<string, string>? Credentials { get; init; }
}

/// <summary>Changes to a provider account; what is left out stays. A credential set to null is removed.</summary>
public sealed record UpdateProviderRequest
{
    public Guid Id { get; init; }
    public string? Name { get; init; }
    public int? Priority { get; init; }
    public bool? Enabled { get; init; }
    public int? RatePerSecond { get; init; }
    public int? RatePerMinute { get; init; }
    public int? TimeoutMs { get; init; }
    public decimal? CostPerMessage { get; init; }
    public int? BreakerFailures { get; init; }
    public int? BreakSeconds { get; init; }
    public JsonElement? Settings { get; init; }
    public Dictionary<string, string?>? Credentials { get; init; }
}

public sealed record ProviderRequest(Guid Id);

public sealed record ListProvidersRequest
{
    [QueryParam] public string? Channel { get; init; }
}

/// <summary>A provider account as the API shows it: the names of its credentials, never their values.</summary>
public sealed record ProviderDto(
    Guid Id, string Channel, string Kind, string Name, int Priority, bool Enabled, int? RatePerSecond, int? RatePerMinute, int TimeoutMs,
    decimal? CostPerMessage, int BreakerFailures, int BreakSeconds, JsonElement Settings, IReadOnlyList<string> CredentialNames,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    internal static ProviderDto From(Provider p, ProviderCredentials credentials) => new(
        p.Id, p.Channel, p.Kind, p.Name, p.Priority, p.Enabled, p.RatePerSecond, p.RatePerMinute, p.TimeoutMs, p.CostPerMessage,
        p.BreakerFailures, p.BreakSeconds, JsonDocument.Parse(p.Settings).RootElement.Clone(), credentials.NamesOf(p.ProtectedCredentials),
        p.CreatedAt, p.UpdatedAt);
}

/// <summary>The rules of a provider's fields, shared by create and update; and what each kind needs to send at all.</summary>
internal static class ProviderRules
{
    public static void Limits<T>(AbstractValidator<T> v, Func<T, string?> name, Func<T, int?> priority, Func<T, int?> perSecond, Func<T, int?> perMinute,
        Func<T, int?> timeoutMs, Func<T, decimal?> cost, Func<T, int?> breakerFailures, Func<T, int?> breakSeconds, Func<T, JsonElement?> settings)
    {
        v.RuleFor(x => name(x)).MaximumLength(200).WithName("name");
        v.RuleFor(x => priority(x)).InclusiveBetween(0, 1000).WithName("priority");
        v.RuleFor(x => perSecond(x)).GreaterThan(0).WithName("ratePerSecond");
        v.RuleFor(x => perMinute(x)).GreaterThan(0).WithName("ratePerMinute");
        v.RuleFor(x => timeoutMs(x)).InclusiveBetween(100, 120_000).WithName("timeoutMs");
        v.RuleFor(x => cost(x)).GreaterThanOrEqualTo(0).WithName("costPerMessage");
        v.RuleFor(x => breakerFailures(x)).InclusiveBetween(2, 1000).WithName("breakerFailures");
        v.RuleFor(x => breakSeconds(x)).InclusiveBetween(1, 3600).WithName("breakSeconds");
        v.RuleFor(x => settings(x)).Must(s => s is null || s.Value.ValueKind == JsonValueKind.Object).WithName("settings")
            .WithMessage("settings must be a JSON object.");
    }

    /// <summary>What the kind cannot send without, as problems naming the field; empty when complete.</summary>
    public static List<string> Missing(string kind, JsonElement settings, IReadOnlyDictionary<string, string> credentials)
    {
        string? Setting(string key) => settings.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var problems = new List<string>();
        switch (kind)
        {
            case ProviderKinds.Twilio:
                foreach (var name in new[] { "accountSid", "authToken" }.Where(n => !credentials.ContainsKey(n)))
                {
                    problems.Add($"credentials.{name} is required for a twilio provider.");
                }

                if (Setting("from") is null && Setting("messagingServiceSid") is null)
                {
                    problems.Add("settings.from (a phone number) or settings.messagingServiceSid is required for a twilio provider.");
                }

                if (Setting("baseUrl") is { } baseUrl && !IsHttpUrl(baseUrl))
                {
                    problems.Add("settings.baseUrl must be an absolute http(s) URL.");
                }

                break;
            case ProviderKinds.HttpSms:
                if (Setting("url") is not { } url || !IsHttpUrl(url.Replace("{to}", "x", StringComparison.Ordinal).Replace("{deliveryId}", "x", StringComparison.Ordinal)))
                {
                    problems.Add("settings.url must be an absolute http(s) URL ({to} and {deliveryId} are replaced).");
                }

                break;
            case ProviderKinds.SendGrid:
                if (!credentials.ContainsKey("apiKey"))
                {
                    problems.Add("credentials.apiKey is required for a sendgrid provider.");
                }

                if (Setting("from") is not { } sender || !sender.Contains('@', StringComparison.Ordinal))
                {
                    problems.Add("settings.from (the sender's email address) is required for a sendgrid provider.");
                }

                break;
            case ProviderKinds.Fcm:
                if (!credentials.TryGetValue("serviceAccount", out var account) || !IsServiceAccount(account))
                {
                    problems.Add("credentials.serviceAccount is required for an fcm provider: the service account's JSON key (project_id, client_email, private_key).");
                }

                break;
            case ProviderKinds.WebPush:
                foreach (var (name, length) in new[] { ("vapidPublicKey", 65), ("vapidPrivateKey", 32) })
                {
                    if (!credentials.TryGetValue(name, out var value) || Base64UrlLength(value) != length)
                    {
                        problems.Add($"credentials.{name} is required for a webpush provider: {length} bytes, base64url.");
                    }
                }

                break;
            case ProviderKinds.Webhook:
                if (!credentials.TryGetValue("secret", out var secret) || !IsSecret(secret))
                {
                    problems.Add("credentials.secret is required for a webhook provider: 'whsec_' + base64 of 24 to 64 random bytes.");
                }

                break;
        }

        return problems;
    }

    private static int Base64UrlLength(string text)
    {
        try
        {
            return System.Buffers.Text.Base64Url.DecodeFromChars(text).Length;
        }
        catch (FormatException)
        {
            return -1;
        }
    }

    private static bool IsServiceAccount(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return new[] { "project_id", "client_email", "private_key" }.All(p =>
                document.RootElement.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.String);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsHttpUrl(string value) => Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";

    private static bool IsSecret(string value)
    {
        try
        {
            return Abstractions.Security.WebhookSigner.KeyOf(value).Length is >= 24 and <= 64;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}

internal sealed class CreateProviderValidator : Validator<CreateProviderRequest>
{
    public CreateProviderValidator()
    {
        RuleFor(x => x.Channel).Must(ProviderKinds.ByChannel.ContainsKey)
            .WithMessage($"channel must be one of: {string.Join(", ", ProviderKinds.ByChannel.Keys)}.");
        RuleFor(x => x.Kind).Must((r, kind) => !ProviderKinds.ByChannel.TryGetValue(r.Channel, out var kinds) || kinds.Contains(kind))
            .WithMessage(r => $"kind must be one of: {string.Join(", ", ProviderKinds.ByChannel.GetValueOrDefault(r.Channel) ?? [])} for the {r.Channel} channel.");
        RuleFor(x => x.Name).NotEmpty();
        ProviderRules.Limits(this, x => x.Name, x => x.Priority, x => x.RatePerSecond, x => x.RatePerMinute, x => x.TimeoutMs, x => x.CostPerMessage,
            x => x.BreakerFailures, x => x.BreakSeconds, x => x.Settings);
    }
}

internal sealed class UpdateProviderValidator : Validator<UpdateProviderRequest>
{
    public UpdateProviderValidator()
    {
        RuleFor(x => x.Name).NotEmpty().When(x => x.Name is not null);
        ProviderRules.Limits(this, x => x.Name, x => x.Priority, x => x.RatePerSecond, x => x.RatePerMinute, x => x.TimeoutMs, x => x.CostPerMessage,
            x => x.BreakerFailures, x => x.BreakSeconds, x => x.Settings);
    }
}

internal sealed class CreateProviderEndpoint(DeliveryDbContext db, ProviderCredentials credentials, ITenantContext tenant, TimeProvider clock)
    : Endpoint<CreateProviderRequest, ProviderDto>
{
    public override void Configure()
    {
        Post("/v1/providers");
        Permissions(ApiScopes.Admin);
        Description(b => b.WithTags("Providers"));
        Summary(s => s.Summary = "Add a provider account for a channel (credentials are write-only and stored encrypted)");
    }

    public override async Task HandleAsync(CreateProviderRequest req, CancellationToken ct)
    {
        var settings = req.Settings ?? JsonDocument.Parse("{}").RootElement;
        var secrets = req.Credentials ?? [];
        if (ProviderRules.Missing(req.Kind, settings, secrets) is { Count: > 0 } problems)
        {
            await Send.ResultAsync(ProblemResults.Unprocessable(string.Join(" ", problems)));
            return;
        }

        var now = clock.GetUtcNow();
        var provider = new Provider
        {
            Id = Ids.New(clock), TenantId = tenant.TenantId, Channel = req.Channel, Kind = req.Kind, Name = req.Name, Priority = req.Priority,
            Enabled = req.Enabled, RatePerSecond = req.RatePerSecond, RatePerMinute = req.RatePerMinute, TimeoutMs = req.TimeoutMs,
            CostPerMessage = req.CostPerMessage, BreakerFailures = req.BreakerFailures, BreakSeconds = req.BreakSeconds,
            Settings = settings.GetRawText(), ProtectedCredentials = credentials.Protect(secrets), CreatedAt = now, UpdatedAt = now,
        };
        db.Providers.Add(provider);
        await db.SaveChangesAsync(ct);
        await Send.CreatedAtAsync<GetProviderEndpoint>(new { id = provider.Id }, ProviderDto.From(provider, credentials), cancellation: ct);
    }
}

internal sealed class ListProvidersEndpoint(DeliveryDbContext db, ProviderCredentials credentials, ITenantContext tenant)
    : Endpoint<ListProvidersRequest, IReadOnlyList<ProviderDto>>
{
    public override void Configure()
    {
        Get("/v1/providers");
        Permissions(ApiScopes.Admin);
        Description(b => b.WithTags("Providers"));
        Summary(s => s.Summary = "List the provider accounts, by channel and priority");
    }

    public override async Task HandleAsync(ListProvidersRequest req, CancellationToken ct)
    {
        var query = db.Providers.AsNoTracking().Where(p => p.TenantId == tenant.TenantId);
        if (req.Channel is { } channel)
        {
            query = query.Where(p => p.Channel == channel);
        }

        var providers = await query.OrderBy(p => p.Channel).ThenBy(p => p.Priority).ThenBy(p => p.Id).ToListAsync(ct);
        await Send.OkAsync([.. providers.Select(p => ProviderDto.From(p, credentials))], ct);
    }
}

internal sealed class GetProviderEndpoint(DeliveryDbContext db, ProviderCredentials credentials, ITenantContext tenant) : Endpoint<ProviderRequest, ProviderDto>
{
    public override void Configure()
    {
        Get("/v1/providers/{id}");
        Permissions(ApiScopes.Admin);
        Description(b => b.WithTags("Providers"));
        Summary(s => s.Summary = "Get a provider account (credential names only)");
    }

    public override async Task HandleAsync(ProviderRequest req, CancellationToken ct)
    {
        if (await db.Providers.AsNoTracking().SingleOrDefaultAsync(p => p.Id == req.Id && p.TenantId == tenant.TenantId, ct) is not { } provider)
        {
            await Send.ResultAsync(ProviderProblems.NotFound(req.Id));
            return;
        }

        await Send.OkAsync(ProviderDto.From(provider, credentials), ct);
    }
}

internal sealed class UpdateProviderEndpoint(DeliveryDbContext db, ProviderCredentials credentials, ITenantContext tenant, TimeProvider clock)
    : Endpoint<UpdateProviderRequest, ProviderDto>
{
    public override void Configure()
    {
        Patch("/v1/providers/{id}");
        Permissions(ApiScopes.Admin);
        Description(b => b.WithTags("Providers"));
        Summary(s => s.Summary = "Change a provider account; credentials given are set (null removes one), the others stay");
    }

    public override async Task HandleAsync(UpdateProviderRequest req, CancellationToken ct)
    {
        if (await db.Providers.SingleOrDefaultAsync(p => p.Id == req.Id && p.TenantId == tenant.TenantId, ct) is not { } provider)
        {
            await Send.ResultAsync(ProviderProblems.NotFound(req.Id));
            return;
        }

        var secrets = new Dictionary<string, string>(credentials.Unprotect(provider.ProtectedCredentials));
        foreach (var (name, value) in req.Credentials ?? [])
        {
            if (value is null)
            {
                secrets.Remove(name);
            }
            else
            {
                secrets[name] = value;
            }
        }

        var settings = req.Settings ?? JsonDocument.Parse(provider.Settings).RootElement;
        if (ProviderRules.Missing(provider.Kind, settings, secrets) is { Count: > 0 } problems)
        {
            await Send.ResultAsync(ProblemResults.Unprocessable(string.Join(" ", problems)));
            return;
        }

        provider.Name = req.Name ?? provider.Name;
        provider.Priority = req.Priority ?? provider.Priority;
        provider.Enabled = req.Enabled ?? provider.Enabled;
        provider.RatePerSecond = req.RatePerSecond ?? provider.RatePerSecond;
        provider.RatePerMinute = req.RatePerMinute ?? provider.RatePerMinute;
        provider.TimeoutMs = req.TimeoutMs ?? provider.TimeoutMs;
        provider.CostPerMessage = req.CostPerMessage ?? provider.CostPerMessage;
        provider.BreakerFailures = req.BreakerFailures ?? provider.BreakerFailures;
        provider.BreakSeconds = req.BreakSeconds ?? provider.BreakSeconds;
        provider.Settings = settings.GetRawText();
        provider.ProtectedCredentials = credentials.Protect(secrets);
        provider.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        await Send.OkAsync(ProviderDto.From(provider, credentials), ct);
    }
}

internal sealed class DeleteProviderEndpoint(DeliveryDbContext db, ITenantContext tenant) : Endpoint<ProviderRequest>
{
    public override void Configure()
    {
        Delete("/v1/providers/{id}");
        Permissions(ApiScopes.Admin);
        Description(b => b.WithTags("Providers"));
        Summary(s => s.Summary = "Remove a provider account (deliveries it sent keep its id)");
    }

    public override async Task HandleAsync(ProviderRequest req, CancellationToken ct)
    {
        var deleted = await db.Providers.Where(p => p.Id == req.Id && p.TenantId == tenant.TenantId).ExecuteDeleteAsync(ct);
        if (deleted == 0)
        {
            await Send.ResultAsync(ProviderProblems.NotFound(req.Id));
            return;
        }

        await Send.NoContentAsync(ct);
    }
}

internal static class ProviderProblems
{
    public static IResult NotFound(Guid id) => ProblemResults.NotFound($"Provider '{id}' was not found.");
}

/// <summary>How a provider has been doing: per window, its calls, how many succeeded, and latency percentiles.</summary>
public sealed record ProviderHealthDto(Guid ProviderId, IReadOnlyList<ProviderHealthWindow> Windows);

/// <summary>
/// One window (1h, 24h, 7d). A call the provider answered — even refusing a recipient it rightly refused — succeeded;
/// errors, timeouts and silence did not. <see cref="SuccessRate"/> and the latencies are null without calls.
/// </summary>
public sealed record ProviderHealthWindow(string Window, int Attempts, int Succeeded, double? SuccessRate, double? P50LatencyMs, double? P95LatencyMs);

internal sealed class GetProviderHealthEndpoint(DeliveryDbContext db, NpgsqlDataSource dataSource, ITenantContext tenant, TimeProvider clock)
    : Endpoint<ProviderRequest, ProviderHealthDto>
{
    private static readonly (string Name, TimeSpan Length)[] Windows = [("1h", TimeSpan.FromHours(1)), ("24h", TimeSpan.FromDays(1)), ("7d", TimeSpan.FromDays(7))];

    public override void Configure()
    {
        Get("/v1/providers/{id}/health");
        Permissions(ApiScopes.Admin, ApiScopes.AnalyticsRead);
        Description(b => b.WithTags("Providers"));
        Summary(s => s.Summary = "A provider's success rate and latency over the last hour, day and week");
    }

    public override async Task HandleAsync(ProviderRequest req, CancellationToken ct)
    {
        if (!await db.Providers.AnyAsync(p => p.Id == req.Id && p.TenantId == tenant.TenantId, ct))
        {
            await Send.ResultAsync(ProviderProblems.NotFound(req.Id));
            return;
        }

        var now = clock.GetUtcNow();
        var windows = new List<ProviderHealthWindow>();
        foreach (var (name, length) in Windows)
        {
            await using var command = dataSource.CreateCommand("""
                SELECT count(*)::int, count(*) FILTER (WHERE succeeded)::int,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)
                FROM delivery.provider_attempts WHERE provider_id = $1 AND tenant_id = $2 AND created_at >= $3
                """);
            command.Parameters.AddWithValue(req.Id);
            command.Parameters.AddWithValue(tenant.TenantId);
            command.Parameters.AddWithValue(now - length);
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            var attempts = reader.GetInt32(0);
            var succeeded = reader.GetInt32(1);
            windows.Add(new ProviderHealthWindow(name, attempts, succeeded, attempts == 0 ? null : (double)succeeded / attempts,
                reader.IsDBNull(2) ? null : reader.GetDouble(2), reader.IsDBNull(3) ? null : reader.GetDouble(3)));
        }

        await Send.OkAsync(new ProviderHealthDto(req.Id, windows), ct);
    }
}
