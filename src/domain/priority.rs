//! How urgent a task is: 1 (low) to 5 (urgent), or not set.

use super::ValidationError;

pub const MIN_PRIORITY: i64 = 1;
pub const MAX_PRIORITY: i64 = 5;

/// A task's priority. A client may set 1 to 5; a value another tool
/// stored is kept as stored, like every other column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(i64);

impl Priority {
    pub fn parse(raw: i64) -> Result<Self, ValidationError> {
        if (MIN_PRIORITY..=MAX_PRIORITY).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(ValidationError::PriorityOutOfRange)
        }
    }

    pub fn from_stored(stored: i64) -> Self {
        Self(stored)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// The priorities a listing keeps (`priority_min`, `priority_max`): a
/// task with a priority within both bounds given; one without a priority
/// is left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PriorityRange {
    pub min: Option<Priority>,
    pub max: Option<Priority>,
}

impl PriorityRange {
    /// `None` when neither bound is given.
    pub fn new(
        min: Option<Priority>,
        max: Option<Priority>,
    ) -> Result<Option<Self>, ValidationError> {
        match (min, max) {
            (None, None) => Ok(None),
            (Some(min), Some(max)) if min > max => Err(ValidationError::PriorityBoundsReversed),
            (min, max) => Ok(Some(Self { min, max })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_needs_a_bound_and_its_bounds_in_order() {
        let p = |raw| Priority::parse(raw).ok();
        assert_eq!(PriorityRange::new(None, None), Ok(None));
        assert_eq!(
            PriorityRange::new(p(2), None),
            Ok(Some(PriorityRange {
                min: p(2),
                max: None
            }))
        );
        assert!(PriorityRange::new(p(3), p(3)).is_ok());
        assert_eq!(
            PriorityRange::new(p(4), p(3)),
            Err(ValidationError::PriorityBoundsReversed)
        );
    }

    #[test]
    fn a_priority_is_1_to_5() {
        assert_eq!(Priority::parse(1).map(Priority::get), Ok(1));
        assert_eq!(Priority::parse(5).map(Priority::get), Ok(5));
        for out in [0, 6, -1, i64::MAX] {
            assert_eq!(
                Priority::parse(out),
                Err(ValidationError::PriorityOutOfRange)
            );
        }
    }
}
