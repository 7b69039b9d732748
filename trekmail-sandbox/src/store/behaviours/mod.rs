//! Behaviour that is more than create/list/get/update/delete, as a table: operation id → the
//! function that answers it, one module per family of operations. A behaviour answering `None`
//! leaves the request to the generic behaviour.

use super::{Answer, Call, Store};

mod access;
mod account;
pub mod agent;
mod contacts;
mod delivery;
mod domain_settings;
mod domains;
mod drive_sharing;
mod drive_tree;
pub mod drive_uploads;
mod external;
mod folders;
mod jobs;
mod mailboxes;
mod reading;
mod sending;
mod shared;
mod support;
mod white_label;

/// Answers one operation; `None` for the generic answer.
pub(super) type Behaviour = fn(&mut Store, &Call<'_>) -> Option<Answer>;

/// Every family's table.
const FAMILIES: &[&[(&str, Behaviour)]] = &[
    account::TABLE,
    domains::TABLE,
    mailboxes::TABLE,
    support::TABLE,
    jobs::TABLE,
    sending::TABLE,
    reading::TABLE,
    folders::TABLE,
    contacts::TABLE,
    drive_tree::TABLE,
    drive_uploads::TABLE,
    drive_sharing::TABLE,
    white_label::TABLE,
    access::TABLE,
    shared::TABLE,
    delivery::TABLE,
    domain_settings::TABLE,
    external::TABLE,
    agent::TABLE,
];

/// The behaviour of the operation `id`, if it has one.
pub(super) fn of(id: &str) -> Option<Behaviour> {
    FAMILIES
        .iter()
        .flat_map(|t| t.iter())
        .find(|(name, _)| *name == id)
        .map(|(_, b)| *b)
}

#[cfg(test)]
mod tests {
    use super::FAMILIES;

    #[test]
    fn every_behaviour_names_an_operation_of_the_document_once() {
        let spec = crate::spec::Spec::embedded().expect("the embedded document reads");
        let mut seen = std::collections::BTreeSet::new();
        for (name, _) in FAMILIES.iter().flat_map(|t| t.iter()) {
            assert!(spec.get(name).is_some(), "{name}: no such operation");
            assert!(seen.insert(*name), "{name}: two behaviours");
        }
    }
}
