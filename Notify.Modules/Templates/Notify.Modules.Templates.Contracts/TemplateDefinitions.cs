using System.Text.Json;

namespace Notify.Modules.Templates.Contracts;

/// <summary>A variable a template declares: sends must provide required ones; the sample feeds previews.</summary>
/// <param name="Name">Top-level name used in the content, e.g. <c>user</c> for <c>{{ user.firstName }}</c>.</param>
/// <param name="Required">Whether a send without it is rejected.</param>
/// <param name="Sample">Example value for previews.</param>
public sealed record TemplateVariable(string Name, bool Required = false, JsonElement? Sample = null);

/// <summary>One locale's content of every channel.</summary>
/// <param name="Locale">BCP 47 locale, e.g. <c>pt-BR</c> or <c>pt</c>.</param>
/// <param name="Content">The channels' content in that locale.</param>
public sealed record LocaleVariant(string Locale, ChannelContents Content);
