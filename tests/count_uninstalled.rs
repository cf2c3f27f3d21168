//! `heaplab::count` in a test binary that forgot the counting allocator: one line that says
//! which line to add, never zeros that read as "no allocation".

#[test]
fn without_the_allocator_count_says_what_to_add() {
    let error = heaplab::try_count(|| vec![1u8; 10]).expect_err("nothing can be counted");
    assert_eq!(error, heaplab::count::CountError::NotInstalled);
    let failed = std::panic::catch_unwind(|| heaplab::assert_allocs(0, || ()))
        .expect_err("an assertion that cannot count fails");
    let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("#[global_allocator]"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
}
