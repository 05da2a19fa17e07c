//! The CSV export's rows: every matching row in inbox order, with joined names.

use sqlx::{Postgres, QueryBuilder};

use super::{filter::push_where, ORDER_BY};
use crate::filters::InboxFilter;

pub fn export_query<'a>(filter: &InboxFilter) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new("SELECT i.* FROM inbox_interactions i");
    push_where(&mut qb, filter, true);
    qb.push(ORDER_BY);
    qb
}
