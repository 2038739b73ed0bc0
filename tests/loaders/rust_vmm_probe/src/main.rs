//! Load one image the way Cloud Hypervisor loads a PVH kernel (vmm/src/vm.rs, load_kernel):
//! `linux_loader::loader::elf::Elf::load(&guest_memory, None, &mut file,
//! Some(HIGH_RAM_START))`, and print one line:
//!
//!     ok pvh <entry hex>    Elf::load succeeded and the last PT_NOTE holds a PVH entry
//!     ok no-pvh             Elf::load succeeded without a PVH entry
//!     err <message>         Elf::load failed: Display of linux_loader::loader::Error
//!
//! Exit status 0 for any of those lines, 2 for bad usage or an unreadable file.
//! stderr gets the PvhBootCapability's own Display on success.

use std::fs::File;
use std::process::exit;

use linux_loader::loader::elf::{Elf, PvhBootCapability};
use linux_loader::loader::KernelLoader;
use vm_memory::{Address, GuestAddress, GuestMemoryMmap};

/// Guest RAM: one region from 0, Cloud Hypervisor's default `--memory size=512M` (below its
/// 32-bit hole, so a single region as in arch::x86_64::arch_memory_regions).
const GUEST_MEMORY_SIZE: usize = 512 << 20;
/// Cloud Hypervisor's arch::layout::HIGH_RAM_START, its highmem_start_address.
const HIGH_RAM_START: u64 = 0x10_0000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: rust_vmm_probe IMAGE");
        exit(2);
    }
    let mut file = match File::open(&args[1]) {
        Ok(file) => file,
        Err(err) => {
            eprintln!("rust_vmm_probe: {}: {err}", args[1]);
            exit(2);
        }
    };
    let memory = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), GUEST_MEMORY_SIZE)])
        .expect("guest memory");
    match Elf::load(&memory, None, &mut file, Some(GuestAddress(HIGH_RAM_START))) {
        Ok(result) => {
            eprintln!("{}", result.pvh_boot_cap);
            match result.pvh_boot_cap {
                PvhBootCapability::PvhEntryPresent(entry) => {
                    println!("ok pvh {:#x}", entry.raw_value())
                }
                _ => println!("ok no-pvh"),
            }
        }
        Err(err) => println!("err {err}"),
    }
}
