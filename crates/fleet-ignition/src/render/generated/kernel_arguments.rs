//! The kernel arguments the fleet file asks for, as Ignition's `kernelArguments` (spec 3.3.0 and
//! newer; an older target refuses them when the config is written).

use fleet_spec::NodeSettings;

use crate::ignition::KernelArguments;

pub(super) fn kernel_arguments(settings: &NodeSettings) -> KernelArguments {
    KernelArguments {
        should_exist: settings.kernel_arguments.should_exist.clone(),
        should_not_exist: settings.kernel_arguments.should_not_exist.clone(),
    }
}
