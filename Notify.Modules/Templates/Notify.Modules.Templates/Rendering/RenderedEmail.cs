namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// An email's rendered parts before the layout wraps it: the content HTML, the text part (rendered, or derived
/// from the HTML), and the preheader the layout shows as hidden preview text.
/// </summary>
internal sealed record RenderedEmail(string Subject, string Html, string Text, string? Preheader);
