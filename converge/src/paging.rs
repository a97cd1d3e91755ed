//! Paging that cannot loop forever: every list call's pages are counted and bounded, and a
//! marker (`NextToken`, `Marker`, `NextMarker`) AWS hands back twice ends the listing with an
//! error instead of fetching the same pages again and again.

use std::collections::HashSet;

use crate::Error;

/// The most pages one listing reads: far more than any stack's resources fill (the smallest
/// page AWS answers is 20 items), few enough that a service handing back markers forever is
/// noticed.
pub const MAX_PAGES: usize = 1_000;

/// The pages of one listing: call [`next`](Self::next) with each page's marker for the next
/// one, or [`page`](Self::page) for each page an SDK paginator yields (which already stops on
/// a marker repeated at once).
#[derive(Debug)]
pub struct Pages {
    operation: &'static str,
    read: usize,
    seen: HashSet<String>,
}

impl Pages {
    /// A listing by `operation` (e.g. `DescribeRules`), named in its errors.
    pub fn new(operation: &'static str) -> Self {
        Self {
            operation,
            read: 0,
            seen: HashSet::new(),
        }
    }

    /// Counts a page read; an error past [`MAX_PAGES`].
    pub fn page(&mut self) -> Result<(), Error> {
        self.read += 1;
        if self.read > MAX_PAGES {
            return Err(self.failed(format!("more than {MAX_PAGES} pages")));
        }
        Ok(())
    }

    /// Counts a page read and takes the marker it handed back: `Some` to read the next page,
    /// `None` when the listing is done (no marker, or an empty one); an error when the marker
    /// was handed back before or the pages pass [`MAX_PAGES`].
    pub fn next(&mut self, marker: Option<&str>) -> Result<Option<String>, Error> {
        self.page()?;
        match marker.filter(|m| !m.is_empty()) {
            None => Ok(None),
            Some(m) if !self.seen.insert(m.to_owned()) => Err(self.failed(format!(
                "page {} handed back a marker it had handed back before",
                self.read
            ))),
            Some(m) => Ok(Some(m.to_owned())),
        }
    }

    fn failed(&self, reason: String) -> Error {
        Error::Failed {
            resource: format!("the listing by {}", self.operation),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_new_markers_and_stops_at_the_end() {
        let mut pages = Pages::new("DescribeRules");
        assert_eq!(pages.next(Some("a")).unwrap().as_deref(), Some("a"));
        assert_eq!(pages.next(Some("b")).unwrap().as_deref(), Some("b"));
        assert_eq!(pages.next(Some("")).unwrap(), None);
        assert_eq!(Pages::new("X").next(None).unwrap(), None);
    }

    #[test]
    fn a_repeated_marker_is_an_error_naming_the_operation() {
        let mut pages = Pages::new("DescribeRules");
        pages.next(Some("a")).unwrap();
        pages.next(Some("b")).unwrap();
        let err = pages.next(Some("a")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the listing by DescribeRules failed: page 3 handed back a marker it had handed back before"
        );
    }

    #[test]
    fn pages_are_bounded() {
        let mut pages = Pages::new("ListRoles");
        for n in 0..MAX_PAGES {
            pages.next(Some(&n.to_string())).unwrap();
        }
        let err = pages.next(Some("last")).unwrap_err();
        assert!(err.to_string().contains("more than 1000 pages"), "{err}");
        let mut counted = Pages::new("DescribeTargetGroups");
        for _ in 0..MAX_PAGES {
            counted.page().unwrap();
        }
        assert!(counted.page().is_err());
    }
}
