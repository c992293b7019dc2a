namespace Notify.Modules.Templates.Domain;

internal static class Categories
{
    public const string Transactional = "transactional";
    public const string System = "system";
}
