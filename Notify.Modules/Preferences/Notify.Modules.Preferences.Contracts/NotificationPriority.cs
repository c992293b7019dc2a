namespace Notify.Modules.Preferences.Contracts;

/// <summary>How urgent a notification is; decides what may delay or stop it.</summary>
public enum NotificationPriority
{
    /// <summary>Bypasses preference settings, quiet and work hours, digests and frequency caps (not unsubscribes or suppressed addresses).</summary>
    Critical,
    /// <summary>Urgent, but still respects preferences and quiet hours.</summary>
    High,
    /// <summary>The default.</summary>
    Normal,
    /// <summary>Can wait.</summary>
    Low,
    /// <summary>Newsletters and campaigns; has its own queue, so it never holds up the others.</summary>
    Bulk,
}

/// <summary>Categories every recipient receives: they cannot be switched off, unsubscribed from, delayed, digested or capped.</summary>
public static class MandatoryCategories
{
    /// <summary>Password resets, receipts, security alerts.</summary>
    public const string Transactional = "transactional";

    /// <summary>Messages about the account itself.</summary>
    public const string System = "system";

    /// <summary>True for <see cref="Transactional"/> and <see cref="System"/>.</summary>
    public static bool Contains(string category) => category is Transactional or System;
}
