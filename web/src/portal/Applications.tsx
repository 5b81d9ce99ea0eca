import { api } from '../shared/api';
import { Loaded, PageHeader, useAsync } from '../shared/ui';

interface App {
  id: string;
  name: string;
  description: string;
  color: string;
  launchUrl: string | null;
}

/** My applications: what the user may open, each launched through single sign-on where it has it. */
export function Applications() {
  const apps = useAsync((signal) => api.get<App[]>('/api/self/applications', { signal }), []);
  return (
    <>
      <PageHeader title="My applications" description="Open an application: you are signed in to it with your directory account." />
      <Loaded state={apps} label="Loading your applications…">
        {(list) =>
          list.length === 0 ? (
            <p className="muted">No application is assigned to you yet. Ask your administrator for access.</p>
          ) : (
            <ul className="app-tiles">
              {list.map((a) => (
                <li key={a.id} className="app-tile">
                  {a.launchUrl ? (
                    <a href={a.launchUrl}>
                      <span className="app-icon" aria-hidden="true">
                        {a.name.slice(0, 1).toUpperCase()}
                      </span>
                      <strong>{a.name}</strong>
                      {a.description && <span className="muted">{a.description}</span>}
                    </a>
                  ) : (
                    <div className="app-tile-static">
                      <span className="app-icon" aria-hidden="true">
                        {a.name.slice(0, 1).toUpperCase()}
                      </span>
                      <strong>{a.name}</strong>
                      <span className="muted">Open it from its own address; your administrator can tell you where.</span>
                    </div>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </>
  );
}
