using System.Text.Json;

namespace Notify.Modules.Templates.Contracts;

/// <summary>
/// What other modules (Delivery) use to send from templates. Served from an in-process cache of published
/// versions that publishing invalidates across processes, so the send path makes no database round trip.
/// </summary>
public interface ITemplates
{
    /// <summary>The published, non-archived template with this key, or null.</summary>
    Task<PublishedTemplate?> FindPublishedAsync(Guid tenantId, string key, CancellationToken cancellationToken);

    /// <summary>Renders the published version for one channel and locale (with fallback).</summary>
    /// <exception cref="TemplateRenderException">The template is missing, archived or unpublished, lacks the channel, or required variables are missing.</exception>
    Task<RenderedMessage> RenderAsync(RenderRequest request, CancellationToken cancellationToken);
}

/// <summary>A published template as senders see it.</summary>
/// <param name="Key">Template key.</param>
/// <param name="Category">Its category (transactional, promotional, system or a tenant's own).</param>
/// <param name="Channels">Channels it has content for.</param>
/// <param name="Version">The published version number.</param>
/// <param name="RequiredVariables">Variables a send must provide.</param>
public sealed record PublishedTemplate(string Key, string Category, IReadOnlyList<string> Channels, int Version, IReadOnlyList<string> RequiredVariables);

/// <summary>One render of a published template.</summary>
/// <param name="TenantId">Owner of the template.</param>
/// <param name="TemplateKey">Template key.</param>
/// <param name="Channel">One of <see cref="Channels"/>.</param>
/// <param name="Locale">The recipient's locale; falls back to its language, then the template's default.</param>
/// <param name="Data">The send's data (a JSON object).</param>
/// <param name="TimeZone">The recipient's IANA time zone, for date filters.</param>
/// <param name="UnsubscribeUrl">Link for the email footer; null for none (transactional mail).</param>
public sealed record RenderRequest(Guid TenantId, string TemplateKey, string Channel, string Locale, JsonElement Data, string TimeZone = "UTC", string? UnsubscribeUrl = null);

/// <summary>Why a template could not be rendered; <see cref="MissingVariables"/> lists required variables the data lacks.</summary>
public sealed class TemplateRenderException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TemplateRenderException(string message, IReadOnlyList<string>? missingVariables = null) : base(message) =>
        MissingVariables = missingVariables ?? [];

    /// <summary>Creates the exception.</summary>
    public TemplateRenderException() : this("The template could not be rendered.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public TemplateRenderException(string message, Exception innerException) : base(message, innerException) => MissingVariables = [];

    /// <summary>Required variables that were absent from the data.</summary>
    public IReadOnlyList<string> MissingVariables { get; }
}
