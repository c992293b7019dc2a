namespace Notify.Modules.Templates.Rendering;

/// <summary>
/// A problem in one Liquid field, found without rendering: where it is (channel such as "email", field such as
/// "subject", 1-based line and column) and what is wrong.
/// </summary>
internal sealed record TemplateSyntaxError(string Channel, string Field, int Line, int Column, string Message);
