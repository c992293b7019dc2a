using Notify.Modules.Abstractions.Modules;
using Notify.Modules.Access;
using Notify.Modules.Delivery;
using Notify.Modules.Preferences;
using Notify.Modules.Templates;
using Notify.Modules.Webhooks;

namespace Notify.Modules;

/// <summary>
/// The modules this deployment runs. Linked into the API, the Worker and the migration step, so all
/// three always load the same list.
/// </summary>
internal static class ModuleCatalog
{
    public static IModule[] All => [new AccessModule(), new TemplatesModule(), new PreferencesModule(), new WebhooksModule(), new DeliveryModule()];
}
