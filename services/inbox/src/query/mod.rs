//! The inbox query: one [`InboxFilter`](crate::filters::InboxFilter) turned into SQL for a
//! page ([`page`], which the CSV export also reads page by page), its total ([`count`]), the
//! stats cards ([`stats`]) and bulk edits, all from one WHERE clause ([`filter`]), so they
//! always agree on which rows match. The free-text search's words come from [`crate::search`].
//!
//! Order: `next_action_at ASC NULLS LAST, created_at DESC, id DESC`, i.e. the generated column
//! `next_action_sort_at` (`'infinity'` when there is no next action) then `created_at DESC,
//! id DESC`. Indexes `idx_interactions_inbox_*` (docs/schema.sql) serve it; docs/benchmarks.md
//! has the plans and timings.

pub mod count;
pub mod filter;
pub mod page;
pub mod stats;

pub use count::{total, Counting, Total};
pub use filter::push_where;
pub use page::page;
pub use stats::{stats, Stats};

pub const ORDER_BY: &str = " ORDER BY i.next_action_sort_at, i.created_at DESC, i.id DESC";
