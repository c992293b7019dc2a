namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// A template parsed but could not be rendered with the given data: a limit was hit, a filter failed, or a JSON
/// field did not render to valid JSON. Maps to a 422; a message is never sent half rendered.
/// </summary>
internal sealed class LiquidRenderException(string channel, string field, string message, Exception? innerException = null)
    : Exception($"{channel} {field}: {message}", innerException)
{
    public string Channel { get; } = channel;

    public string Field { get; } = field;
}
