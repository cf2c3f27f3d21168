//! Type layouts for the layout inspector: the size, alignment and field offsets of the types an
//! experiment compares, read from the compiler (`size_of`, `align_of`, `offset_of!`), never
//! typed in by hand. [`type_layout!`](crate::type_layout) builds one from a type and its field
//! names; each field's type and size are inferred from the field itself.

/// One field of a laid-out type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldLayout {
    /// The field's name (`0` for a tuple struct's first field).
    pub name: &'static str,
    /// The field's type, without module paths (`Vec<u8>`).
    pub ty: String,
    /// Bytes from the start of the value.
    pub offset: usize,
    /// `size_of` the field's type.
    pub size: usize,
}

/// How one type is laid out in memory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TypeLayout {
    /// The variant that stores this type (`naive`, `optimized`, `crate`).
    pub variant: &'static str,
    /// The type's name as written in the experiment.
    pub name: &'static str,
    /// `size_of`: what one value takes inline, padding included.
    pub size: usize,
    /// `align_of`.
    pub align: usize,
    /// The fields, by offset.
    pub fields: Vec<FieldLayout>,
    /// What the inline size leaves out (a heap block per value, a side table), or empty.
    pub note: &'static str,
}

impl TypeLayout {
    /// A layout with its fields sorted by offset (the compiler may reorder `repr(Rust)`).
    #[must_use]
    pub fn new(
        variant: &'static str,
        name: &'static str,
        size: usize,
        align: usize,
        note: &'static str,
        mut fields: Vec<FieldLayout>,
    ) -> Self {
        fields.sort_by_key(|f| f.offset);
        Self {
            variant,
            name,
            size,
            align,
            fields,
            note,
        }
    }

    /// Bytes that belong to no field: holes between fields and the tail that rounds the size
    /// up to the alignment.
    #[must_use]
    pub fn padding(&self) -> usize {
        self.size - self.fields.iter().map(|f| f.size).sum::<usize>()
    }

    /// Which field, if any, owns byte `at`.
    #[must_use]
    pub fn field_at(&self, at: usize) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| (f.offset..f.offset + f.size).contains(&at))
    }

    /// Inline bytes that `count` values take in a `Vec` or array (`count * size_of`).
    #[must_use]
    pub fn bytes_for(&self, count: u64) -> u64 {
        count * self.size as u64
    }
}

/// `size_of` the type of the field that `field` borrows: lets [`type_layout!`](crate::type_layout)
/// infer a field's type from its name.
#[must_use]
pub fn field_size<T, F>(field: fn(&T) -> &F) -> (usize, String) {
    let _ = field;
    (
        std::mem::size_of::<F>(),
        short_type_name(std::any::type_name::<F>()),
    )
}

/// `alloc::vec::Vec<u8>` -> `Vec<u8>`: module paths dropped, generics kept.
#[must_use]
pub fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    let mut chars = full.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c == ':' && chars.peek().is_some_and(|&(_, next)| next == ':') {
            chars.next();
            out.truncate(segment_start);
            continue;
        }
        out.push(c);
        if !(c.is_alphanumeric() || c == '_') {
            segment_start = out.len();
        }
    }
    out
}

/// The layout of `$ty` for `$variant`, with the named fields: size and alignment from
/// `size_of`/`align_of`, offsets from `offset_of!`, each field's size from its own type.
/// Invoke it where the fields are visible (the experiment's own module).
#[macro_export]
macro_rules! type_layout {
    ($variant:expr, $ty:ty, $note:expr, [$($field:tt),* $(,)?]) => {
        $crate::layout::TypeLayout::new(
            $variant,
            stringify!($ty),
            ::std::mem::size_of::<$ty>(),
            ::std::mem::align_of::<$ty>(),
            $note,
            vec![$({
                let (size, ty) = $crate::layout::field_size(|v: &$ty| &v.$field);
                $crate::layout::FieldLayout {
                    name: stringify!($field),
                    ty,
                    offset: ::std::mem::offset_of!($ty, $field),
                    size,
                }
            }),*],
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_lose_their_paths_but_keep_generics() {
        assert_eq!(short_type_name("alloc::vec::Vec<u8>"), "Vec<u8>");
        assert_eq!(
            short_type_name("arrayvec::arrayvec::ArrayVec<u8, 16>"),
            "ArrayVec<u8, 16>"
        );
        assert_eq!(
            short_type_name("core::option::Option<alloc::string::String>"),
            "Option<String>"
        );
        assert_eq!(short_type_name("[u8; 16]"), "[u8; 16]");
        assert_eq!(short_type_name("bool"), "bool");
    }
}
