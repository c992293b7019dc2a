using System.Text.Json;
using Npgsql;

namespace Notify.Modules.Delivery.Domain;

/// <summary>
/// Notifications read with Npgsql directly on the Worker's paths that run for every notification (planning, sending):
/// there EF's query pipeline and materializer cost a share of the Worker's CPU worth saving (planning's claim through EF
/// was ~7% of it under load, bench/delivery.sh with perf).
/// </summary>
internal static class NotificationRows
{
    private static readonly string[] Names =
    [
        "id", "created_at", "tenant_id", "template_key", "template_version", "category", "priority", "user_id", "metadata", "channels",
        "status", "scheduled_for", "release_at", "idempotency_key", "updated_at",
    ];

    /// <summary>The columns <see cref="Read"/> expects without the payload, in its order, of the table aliased <c>n</c>.</summary>
    public static readonly string Columns = string.Join(", ", Names.Select(c => $"n.{c}"));

    /// <summary>As <see cref="Columns"/>, with the payload (inline recipient and data) last.</summary>
    public static readonly string ColumnsWithPayload = $"{Columns}, n.inline_recipient, n.data";

    /// <summary>
    /// The notification of the reader's current row, selected with <see cref="Columns"/> (or, <paramref name="withPayload"/>,
    /// <see cref="ColumnsWithPayload"/>).
    /// </summary>
    public static Notification Read(NpgsqlDataReader reader, bool withPayload) => new()
    {
        Id = reader.GetGuid(0), CreatedAt = reader.GetFieldValue<DateTimeOffset>(1), TenantId = reader.GetGuid(2),
        TemplateKey = reader.GetString(3), TemplateVersion = reader.GetInt32(4), Category = reader.GetString(5),
        Priority = reader.GetString(6), UserId = NullOr<string>(reader, 7), Metadata = NullOr<JsonDocument>(reader, 8),
        Channels = reader.GetFieldValue<string[]>(9), Status = reader.GetString(10), ScheduledFor = NullOrValue<DateTimeOffset>(reader, 11),
        ReleaseAt = NullOrValue<DateTimeOffset>(reader, 12), IdempotencyKey = NullOr<string>(reader, 13),
        UpdatedAt = reader.GetFieldValue<DateTimeOffset>(14),
        InlineRecipient = withPayload ? NullOr<JsonDocument>(reader, 15) : null, Data = withPayload ? NullOr<JsonDocument>(reader, 16) : null,
    };

    private static T? NullOr<T>(NpgsqlDataReader reader, int ordinal)
        where T : class => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<T>(ordinal);

    private static T? NullOrValue<T>(NpgsqlDataReader reader, int ordinal)
        where T : struct => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<T>(ordinal);
}
