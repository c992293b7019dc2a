namespace Notify.Modules.Templates.Contracts;

/// <summary>A message ready to send on one channel. Only the fields of that channel are set.</summary>
/// <param name="Channel">One of <see cref="Channels"/>.</param>
/// <param name="Locale">The locale whose variant was used (after fallback).</param>
/// <param name="Subject">Email subject.</param>
/// <param name="Html">Email HTML, wrapped in the tenant's layout.</param>
/// <param name="Text">Email text part (always set: the template's own, or derived from the HTML), SMS text.</param>
/// <param name="Title">Push or in-app title.</param>
/// <param name="Body">Push or in-app body, webhook JSON body.</param>
/// <param name="Data">Push data (JSON object).</param>
/// <param name="ActionUrl">In-app action URL.</param>
/// <param name="Tracking">
/// Email: whether opens and clicks may be tracked (a pixel, links through signed redirects) — true only when both the
/// template and the tenant's brand allow it. False for every other channel, and for content rendered before it existed.
/// </param>
public sealed record RenderedMessage(
    string Channel,
    string Locale,
    string? Subject = null,
    string? Html = null,
    string? Text = null,
    string? Title = null,
    string? Body = null,
    string? Data = null,
    string? ActionUrl = null,
    bool Tracking = false);
