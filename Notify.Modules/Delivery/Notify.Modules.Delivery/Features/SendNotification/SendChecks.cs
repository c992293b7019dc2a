using System.Text.Json;
using System.Text.RegularExpressions;
using FluentValidation.Results;
using Notify.Modules.Abstractions;
using Notify.Modules.Preferences.Contracts;
using Notify.Modules.Templates.Contracts;

namespace Notify.Modules.Delivery.Features.SendNotification;

/// <summary>A send that passed every check, with what the checks resolved.</summary>
internal sealed record CheckedSend(PublishedTemplate Template, string Category, NotificationPriority Priority, IReadOnlyList<string> Channels);

/// <summary>
/// Checks a send up front and lists every problem at once, so a client fixes them in one round trip: shape
/// problems (a 400) and rule problems — unknown template, missing variables, unknown users (a 422) — together.
/// That is why this is not a FastEndpoints validator, which would answer before the rules could be checked.
/// </summary>
internal static partial class SendChecks
{
    public const int MaxRecipients = 100;
    private static readonly TimeSpan PastTolerance = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan MaxScheduleAhead = TimeSpan.FromDays(365);
    private const int MaxMetadataBytes = 16 * 1024;

    [GeneratedRegex(@"^[\x21-\x7E]{1,200}$")]
    private static partial Regex IdempotencyKey();

    public static readonly IReadOnlyDictionary<string, NotificationPriority> Priorities = new Dictionary<string, NotificationPriority>
    {
        ["critical"] = NotificationPriority.Critical,
        ["high"] = NotificationPriority.High,
        ["normal"] = NotificationPriority.Normal,
        ["low"] = NotificationPriority.Low,
        ["bulk"] = NotificationPriority.Bulk,
    };

    public static bool IsIdempotencyKey(string key) => IdempotencyKey().IsMatch(key);

    public static string Name(NotificationPriority priority) => Priorities.First(p => p.Value == priority).Key;

    private static bool TryParsePriority(string? value, out NotificationPriority priority)
    {
        priority = NotificationPriority.Normal;
        return value is null || Priorities.TryGetValue(value, out priority);
    }

    public static async Task<(CheckedSend? Send, int Status)> CheckAsync(
        SendNotificationRequest req, Guid tenantId, ITemplates templates, IRecipientPreferences preferences, TimeProvider clock,
        List<ValidationFailure> errors, CancellationToken ct)
    {
        var shapeErrors = 0;
        void Shape(string field, string message)
        {
            errors.Add(new ValidationFailure(field, message));
            shapeErrors++;
        }

        void Rule(string field, string message) => errors.Add(new ValidationFailure(field, message));

        if (req.IdempotencyKey is not null && !IdempotencyKey().IsMatch(req.IdempotencyKey))
        {
            Shape("Idempotency-Key", "The Idempotency-Key header is 1 to 200 printable ASCII characters.");
        }

        if (string.IsNullOrWhiteSpace(req.TemplateKey))
        {
            Shape("templateKey", "templateKey is required.");
        }

        var recipients = req.Recipients ?? [];
        if (recipients.Count == 0)
        {
            Shape("recipients", "recipients needs at least one recipient.");
        }
        else if (recipients.Count > MaxRecipients)
        {
            Shape("recipients", $"recipients has {recipients.Count} recipients; at most {MaxRecipients} are allowed per call.");
        }

        if (!TryParsePriority(req.Priority, out var priority))
        {
            Shape("priority", $"priority '{req.Priority}' is not one of critical, high, normal, low, bulk.");
        }

        if (req.Category is not null && !Formats.IsCategory(req.Category))
        {
            Shape("category", "category is 1 to 100 lower-case letters, digits, '_', '.' or '-'.");
        }

        foreach (var (channel, i) in (req.Channels ?? []).Select((c, i) => (c, i)))
        {
            if (!Channels.All.Contains(channel))
            {
                Shape($"channels[{i}]", $"channel '{channel}' is not one of {string.Join(", ", Channels.All)}.");
            }
        }

        if (req.Channels is { Count: 0 })
        {
            Shape("channels", "channels, when given, names at least one channel.");
        }

        if (req.Data is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null) })
        {
            Shape("data", "data must be a JSON object.");
        }

        if (req.Metadata is { } metadata)
        {
            if (metadata.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
            {
                Shape("metadata", "metadata must be a JSON object.");
            }
            else if (metadata.GetRawText().Length > MaxMetadataBytes)
            {
                Shape("metadata", $"metadata is larger than {MaxMetadataBytes / 1024} KB.");
            }
        }

        var now = clock.GetUtcNow();
        if (req.ScheduledFor is { } at && (at < now - PastTolerance || at > now + MaxScheduleAhead))
        {
            Rule("scheduledFor", at < now ? "scheduledFor is in the past." : "scheduledFor is more than a year ahead.");
        }

        foreach (var (r, i) in recipients.Select((r, i) => (r, i)))
        {
            var inline = r.Email is not null || r.Phone is not null || r.Locale is not null || r.TimeZone is not null;
            if (r.UserId is not null && inline)
            {
                Shape($"recipients[{i}]", "A recipient is either a userId or inline addresses, not both.");
            }
            else if (r.UserId is null && r.Email is null && r.Phone is null)
            {
                Shape($"recipients[{i}]", "A recipient needs a userId, or an email or phone for a one-off send.");
            }
            else if (r.UserId is not null && string.IsNullOrWhiteSpace(r.UserId))
            {
                Shape($"recipients[{i}].userId", "userId must not be empty.");
            }

            if (r.Email is not null && !Formats.IsEmail(r.Email))
            {
                Shape($"recipients[{i}].email", $"'{r.Email}' is not an email address.");
            }

            if (r.Phone is not null && !Formats.IsE164Phone(r.Phone))
            {
                Shape($"recipients[{i}].phone", "phone is written in E.164 form: + and the country code, then the number (e.g. +14155550123).");
            }

            if (r.Locale is not null && !Locales.IsKnown(r.Locale))
            {
                Shape($"recipients[{i}].locale", $"locale '{r.Locale}' is not a known locale (use BCP 47, e.g. en, pt-BR).");
            }

            if (r.TimeZone is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(r.TimeZone, out _))
            {
                Rule($"recipients[{i}].timeZone", $"timeZone '{r.TimeZone}' is not an IANA time zone (e.g. Europe/Berlin).");
            }
        }

        // The rules that need the other modules.
        PublishedTemplate? template = null;
        if (!string.IsNullOrWhiteSpace(req.TemplateKey))
        {
            template = await templates.FindPublishedAsync(tenantId, req.TemplateKey, ct);
            if (template is null)
            {
                Rule("templateKey", $"There is no published template with key '{req.TemplateKey}'.");
            }
        }

        var channels = template?.Channels ?? [];
        if (template is not null)
        {
            foreach (var variable in template.RequiredVariables)
            {
                if (req.Data is not { ValueKind: JsonValueKind.Object } data
                    || !data.TryGetProperty(variable, out var value) || value.ValueKind == JsonValueKind.Null)
                {
                    Rule($"data.{variable}", $"The template requires the variable '{variable}', which data lacks.");
                }
            }

            if (req.Channels is { Count: > 0 } requested)
            {
                foreach (var (channel, i) in requested.Select((c, i) => (c, i)))
                {
                    if (Channels.All.Contains(channel) && !template.Channels.Contains(channel))
                    {
                        Rule($"channels[{i}]", $"Template '{template.Key}' has no {channel} content; its channels are {string.Join(", ", template.Channels)}.");
                    }
                }

                channels = template.Channels.Where(requested.Contains).ToList();
            }
        }

        var category = req.Category ?? template?.Category ?? "";
        if (recipients.Count is > 0 and <= MaxRecipients)
        {
            // Answered from the preferences cache; null means no such recipient.
            for (var i = 0; i < recipients.Count; i++)
            {
                if (recipients[i].UserId is { Length: > 0 } userId
                    && await preferences.PlanAsync(new PlanRequest(tenantId, userId, category, priority, channels), ct) is null)
                {
                    Rule($"recipients[{i}].userId", $"There is no recipient with user id '{userId}'; create it with PUT /v1/users/{{userId}} or send to inline addresses.");
                }
            }
        }

        if (errors.Count > 0)
        {
            return (null, shapeErrors > 0 ? StatusCodes.Status400BadRequest : StatusCodes.Status422UnprocessableEntity);
        }

        return (new CheckedSend(template!, category, priority, channels), StatusCodes.Status202Accepted);
    }
}
