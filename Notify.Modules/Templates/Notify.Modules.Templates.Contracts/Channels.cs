namespace Notify.Modules.Templates.Contracts;

/// <summary>The delivery channels a template can have content for.</summary>
public static class Channels
{
    /// <summary>Email: subject, HTML and text.</summary>
    public const string Email = "email";

    /// <summary>SMS: text.</summary>
    public const string Sms = "sms";

    /// <summary>Mobile push: title, body and a JSON data payload.</summary>
    public const string Push = "push";

    /// <summary>In-app inbox: title, body and an action URL.</summary>
    public const string InApp = "in_app";

    /// <summary>A per-notification HTTP POST with a JSON body.</summary>
    public const string Webhook = "webhook";

    /// <summary>Every channel.</summary>
    public static readonly IReadOnlyList<string> All = [Email, Sms, Push, InApp, Webhook];
}

/// <summary>Email content of one locale; Liquid in every field. <see cref="Text"/> is derived from the HTML when absent.</summary>
public sealed record EmailContent(string Subject, string Html, string? Text = null, string? Preheader = null);

/// <summary>SMS content; Liquid.</summary>
public sealed record SmsContent(string Text);

/// <summary>Push content; Liquid. <see cref="Data"/> is a JSON object template.</summary>
public sealed record PushContent(string Title, string Body, string? Data = null);

/// <summary>In-app content; Liquid.</summary>
public sealed record InAppContent(string Title, string Body, string? ActionUrl = null);

/// <summary>Webhook content: a JSON body template; Liquid.</summary>
public sealed record WebhookContent(string Body);

/// <summary>All channels' content of one locale variant; a null channel has no content in this locale.</summary>
public sealed record ChannelContents(
    EmailContent? Email = null,
    SmsContent? Sms = null,
    PushContent? Push = null,
    InAppContent? InApp = null,
    WebhookContent? Webhook = null);
