#include "gpt_builder.h"

#include <algorithm>
#include <stdexcept>

#include "base/endian.h"

namespace vdisk::test {

std::vector<std::byte> make_gpt_disk(const GptSpec& s) {
  std::vector<std::byte> disk(static_cast<std::size_t>(s.size), std::byte{0});
  const std::uint64_t lbas = s.size / s.lba_size;
  gpt::Header h;
  h.entry_count = s.entry_count;
  h.entry_size = s.entry_size;
  const std::uint64_t sectors = h.array_sectors(s.lba_size);
  h.current_lba = 1;
  h.alternate_lba = lbas - 1;
  h.entries_lba = 2;
  h.first_usable_lba = s.first_usable ? s.first_usable : 2 + sectors;
  h.last_usable_lba = lbas - 2 - sectors;
  for (std::size_t i = 0; i < 16; ++i) h.disk_guid[i] = static_cast<std::uint8_t>(0xA0 + i);

  std::vector<std::byte> array(static_cast<std::size_t>(h.array_bytes()), std::byte{0});
  for (std::size_t i = 0; i < s.parts.size(); ++i) {
    std::span<std::byte> e(array.data() + i * s.entry_size, s.entry_size);
    e[0] = std::byte{s.parts[i].type};
    e[16] = static_cast<std::byte>(i + 1);
    detail::store_le64(e.subspan(32), s.parts[i].first_lba);
    detail::store_le64(e.subspan(40), s.parts[i].last_lba);
    e[56] = std::byte{'p'};
    if (s.partition_data)
      std::fill_n(disk.begin() + static_cast<std::ptrdiff_t>(s.parts[i].first_lba * s.lba_size),
                  s.lba_size, static_cast<std::byte>(0x40 + i));
  }
  h.entries_crc = gpt::crc32(array);
  std::copy(array.begin(), array.end(), disk.begin() + static_cast<std::ptrdiff_t>(2 * s.lba_size));
  const std::uint64_t backup_array = lbas - 1 - sectors;
  std::copy(array.begin(), array.end(),
            disk.begin() + static_cast<std::ptrdiff_t>(backup_array * s.lba_size));
  gpt::encode_header(h, std::span(disk).subspan(s.lba_size, s.lba_size));
  gpt::Header b = h;
  b.current_lba = lbas - 1;
  b.alternate_lba = 1;
  b.entries_lba = backup_array;
  gpt::encode_header(b, std::span(disk).subspan((lbas - 1) * s.lba_size, s.lba_size));
  if (s.protective_mbr) {
    disk[446 + 4] = std::byte{0xEE};
    detail::store_le32(std::span(disk).subspan(446 + 8), 1);
    detail::store_le32(std::span(disk).subspan(446 + 12),
                       static_cast<std::uint32_t>(std::min<std::uint64_t>(lbas - 1, 0xFFFFFFFF)));
    disk[510] = std::byte{0x55};
    disk[511] = std::byte{0xAA};
  }
  return disk;
}

}  // namespace vdisk::test
