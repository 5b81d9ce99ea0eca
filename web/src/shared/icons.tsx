/** The portals' icons: inline SVG, drawn here, so nothing is fetched. Decorative: hidden from screen readers. */
const paths: Record<string, string> = {
  users: 'M16 11a4 4 0 1 0-8 0 4 4 0 0 0 8 0ZM4 20c0-3.3 3.6-6 8-6s8 2.7 8 6',
  groups: 'M9 10a3 3 0 1 0 0-6 3 3 0 0 0 0 6Zm8 1a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5ZM2 19c0-2.8 3.1-5 7-5s7 2.2 7 5m1-5c2.8.2 5 1.9 5 4',
  apps: 'M4 4h6v6H4zM14 4h6v6h-6zM4 14h6v6H4zM14 14h6v6h-6z',
  directories: 'M3 6h7l2 2h9v11H3z',
  radius: 'M12 18h.01M8.5 14.5a5 5 0 0 1 7 0M5 11a10 10 0 0 1 14 0M2 7.5a15 15 0 0 1 20 0',
  admins: 'M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z',
  keys: 'M15 7a4 4 0 1 1-3.9 5H8v3H5v-3H3v-3h8.1A4 4 0 0 1 15 7Z',
  audit: 'M6 3h9l4 4v14H6zM9 12h7M9 16h7M9 8h3',
  account: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8Zm-7 9c0-3.9 3.1-7 7-7s7 3.1 7 7',
  sync: 'M4 12a8 8 0 0 1 14-5.3L20 9M20 4v5h-5M20 12a8 8 0 0 1-14 5.3L4 15M4 20v-5h5',
  lock: 'M6 11h12v10H6zM8 11V8a4 4 0 1 1 8 0v3',
  logo: 'M12 2 3 7v10l9 5 9-5V7zM12 7v10M7.5 9.5 12 12l4.5-2.5',
};

export function Icon({ name, size = 18 }: { name: keyof typeof paths | string; size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={1.8} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" focusable="false">
      <path d={paths[name] ?? ''} />
    </svg>
  );
}
