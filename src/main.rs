//! heaplab's entry point: the chapter's catalog, handed to the same entry point users' own
//! experiments take ([`heaplab::Lab`]).

use std::process::ExitCode;

/// Every allocation of the process goes through here: counted per thread, exactly.
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

fn main() -> ExitCode {
    heaplab::Lab::chapter().main()
}
