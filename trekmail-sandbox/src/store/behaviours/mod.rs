//! Behaviour that is more than create/list/get/update/delete, as a table: operation id → the
//! function that answers it, one module per family of operations. A behaviour answering `None`
//! leaves the request to the generic behaviour.

use super::{Answer, Call, Store};

mod account;
mod contacts;
mod domains;
mod folders;
mod jobs;
mod mailboxes;
mod reading;
mod sending;
mod support;

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
